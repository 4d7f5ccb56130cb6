using System;

namespace MiniUpnp.Net.Python;

/// <summary>
/// The C library's text-to-number conversions that the Python module applies to the IGD's answers
/// (<c>atoi</c>, <c>strtoul(s, 0, 0)</c>), reproduced so that odd answers give the same numbers as in Python.
/// </summary>
internal static class CNumbers
{
    /// <summary>C <c>atoi</c>: optional whitespace and sign, then decimal digits; 0 when there are none.</summary>
    internal static int Atoi(string text)
    {
        int i = SkipSpace(text, 0);
        bool negative = false;
        if (i < text.Length && (text[i] == '+' || text[i] == '-'))
        {
            negative = text[i] == '-';
            i++;
        }
        long value = 0;
        for (; i < text.Length && text[i] is >= '0' and <= '9'; i++)
        {
            // glibc's atoi is strtol cast to int: saturate at the long range, then truncate like the cast.
            value = Math.Min(value * 10 + (text[i] - '0'), (long)int.MaxValue + 1 + int.MaxValue);
        }
        return unchecked((int)(negative ? -value : value));
    }

    /// <summary>C <c>strtoul(text, NULL, 0)</c> cast to <c>unsigned int</c>: base 16 after 0x, base 8 after 0, else 10.</summary>
    internal static uint StrtoulBase0(string text)
    {
        int i = SkipSpace(text, 0);
        bool negative = false;
        if (i < text.Length && (text[i] == '+' || text[i] == '-'))
        {
            negative = text[i] == '-';
            i++;
        }
        int radix = 10;
        if (i + 1 < text.Length && text[i] == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X') && i + 2 < text.Length && Uri.IsHexDigit(text[i + 2]))
        {
            radix = 16;
            i += 2;
        }
        else if (i < text.Length && text[i] == '0')
        {
            radix = 8;
        }
        ulong value = 0;
        bool overflow = false;
        for (; i < text.Length; i++)
        {
            int digit = Uri.IsHexDigit(text[i]) ? Convert.ToInt32(text[i].ToString(), 16) : -1;
            if (digit < 0 || digit >= radix)
            {
                break;
            }
            if (value > (ulong.MaxValue - (ulong)digit) / (ulong)radix)
            {
                overflow = true; // strtoul returns ULONG_MAX on overflow
            }
            else
            {
                value = value * (ulong)radix + (ulong)digit;
            }
        }
        if (overflow)
        {
            value = ulong.MaxValue;
        }
        return unchecked((uint)(negative ? (ulong)(-(long)value) : value));
    }

    private static int SkipSpace(string text, int i)
    {
        while (i < text.Length && text[i] is ' ' or '\t' or '\n' or '\v' or '\f' or '\r')
        {
            i++;
        }
        return i;
    }
}
