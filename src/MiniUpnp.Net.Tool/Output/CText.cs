using System;
using System.Globalization;
using System.Text;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tool.Output;

/// <summary>
/// The few C library behaviours upnpc's output and argument handling depend on (printf widths, <c>atoi</c>,
/// <c>sscanf("%d%c")</c>, <c>ctime</c>, glibc's "(null)"), reproduced so that the text is byte for byte upnpc's.
/// </summary>
internal static class CText
{
    /// <summary>glibc prints "(null)" for a NULL <c>%s</c> argument (upnpc passes <c>strupnperror</c>'s NULL for unknown codes).</summary>
    internal static string S(string? value) => value ?? "(null)";

    /// <summary><c>%Ns</c> (right-aligned) and <c>%-Ns</c> (left-aligned): printf pads to a width in bytes, not characters.</summary>
    internal static string Pad(string value, int width, bool leftAlign = false)
    {
        int bytes = Encoding.UTF8.GetByteCount(value);
        if (bytes >= width)
        {
            return value;
        }
        string padding = new(' ', width - bytes);
        return leftAlign ? value + padding : padding + value;
    }

    /// <summary>Invariant decimal text of a number (printf's <c>%d</c>/<c>%u</c>).</summary>
    internal static string D(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// upnpc.c <c>is_int</c>: true when every character is an ASCII digit, so also for the empty string;
    /// false for NULL (an argument past the end of argv).
    /// </summary>
    internal static bool IsInt(string? s)
    {
        if (s is null)
        {
            return false;
        }
        foreach (char c in s)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// glibc <c>atoi</c>, which is <c>(int)strtol(s, NULL, 10)</c>: leading white space, an optional sign, digits;
    /// the long saturates on overflow and the cast keeps its low 32 bits.
    /// </summary>
    internal static int Atoi(string s) => unchecked((int)Strtol(s, out _));

    /// <summary>
    /// <c>sscanf(s, "%d%c", &amp;value, &amp;junk) == 1</c>: a decimal integer (after optional white space) and nothing
    /// after it. glibc converts through <c>strtol</c>, so an out-of-range number keeps the low 32 bits of the saturated long.
    /// </summary>
    internal static bool ScanWholeInt(string s, out int value)
    {
        long l = Strtol(s, out int end);
        value = unchecked((int)l);
        return end > 0 && end == s.Length;
    }

    /// <summary>
    /// <c>strtol(s, &amp;end, 10)</c> on a 64-bit long; <paramref name="end"/> is 0 when no digits were read.
    /// </summary>
    private static long Strtol(string s, out int end)
    {
        int i = 0;
        while (i < s.Length && IsCSpace(s[i]))
        {
            i++;
        }
        bool negative = false;
        if (i < s.Length && (s[i] == '+' || s[i] == '-'))
        {
            negative = s[i] == '-';
            i++;
        }
        int digitsStart = i;
        ulong magnitude = 0;
        bool overflow = false;
        while (i < s.Length && s[i] is >= '0' and <= '9')
        {
            uint digit = (uint)(s[i] - '0');
            if (!overflow)
            {
                if (magnitude > (ulong.MaxValue - digit) / 10)
                {
                    overflow = true;
                }
                else
                {
                    magnitude = magnitude * 10 + digit;
                }
            }
            i++;
        }
        if (i == digitsStart)
        {
            end = 0;
            return 0;
        }
        end = i;
        if (negative)
        {
            return overflow || magnitude > (ulong)long.MaxValue + 1 ? long.MinValue : unchecked(-(long)magnitude);
        }
        return overflow || magnitude > long.MaxValue ? long.MaxValue : (long)magnitude;
    }

    private static bool IsCSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';

    /// <summary>
    /// <c>ctime(&amp;t)</c>: <c>"Www Mmm dd hh:mm:ss yyyy\n"</c> in local time (asctime's fixed English names and
    /// <c>%3d</c> day of month), as upnpc prints the time the connection started.
    /// </summary>
    internal static string Ctime(long unixSeconds)
    {
        DateTimeOffset utc = DateTimeOffset.FromUnixTimeSeconds(unixSeconds);
        DateTime local = TimeZoneInfo.ConvertTime(utc, TimeZoneInfo.Local).DateTime;
        string[] days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        string[] months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        return string.Create(CultureInfo.InvariantCulture,
            $"{days[(int)local.DayOfWeek]} {months[local.Month - 1]}{local.Day,3} {local.Hour:00}:{local.Minute:00}:{local.Second:00} {local.Year}\n");
    }
}
