using System.IO;

namespace MiniUpnp.Net.Tool.Natpmpc;

/// <summary>natpmpc.c's usage(), byte for byte, with the program name as given.</summary>
internal static class NatpmpcUsage
{
    internal static void Write(TextWriter output, string argv0) => output.Write(
        "Usage :\n" +
        $"  {argv0} [options]\n" +
        "\tdisplay the public IP address.\n" +
        $"  {argv0} -h\n" +
        "\tdisplay this help screen.\n" +
        $"  {argv0} [options] -a <public port> <private port> <protocol> [lifetime]\n" +
        "\tadd a port mapping.\n" +
        "\nOption available :\n" +
        "  -g ipv4address\n" +
        "\tforce the gateway to be used as destination for NAT-PMP commands.\n" +
        "\n  In order to remove a mapping, set it with a lifetime of 0 seconds.\n" +
        "  To remove all mappings for your machine, use 0 as private port and lifetime.\n");
}
