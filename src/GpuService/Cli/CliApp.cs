using System.Runtime.InteropServices;
using System.CommandLine;
using Spectre.Console;

namespace TLoRA.GpuService.Cli;

/// <summary>The `tlora` command line: one verb per job kind. Errors print one line naming the problem and exit 1.</summary>
public static class CliApp
{
    public static int Run(string[] args, IAnsiConsole console)
    {
        var root = new RootCommand("T-LoRA: personalise SD-XL / FLUX from one image (libtorch, C#)");
        root.Subcommands.Add(DescribeCommand.Create(console));
        root.Subcommands.Add(InspectCommand.Create(console));
        root.Subcommands.Add(TrainCommand.Create(console));
        root.Subcommands.Add(SampleCommand.Create(console));
        root.Subcommands.Add(ServeCommand.Create(console));
        var parsed = root.Parse(args);
        try
        {
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (IsUserError(e))
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return 1;
        }
    }

    /// <summary>Bad input (missing folder, corrupt file, wrong key) rather than a bug: shown as one line, no stack.</summary>
    internal static bool IsUserError(Exception e) =>
        e is IOException or InvalidDataException or KeyNotFoundException or ArgumentException or UnauthorizedAccessException
            or NotSupportedException
            or ExternalException or Engine.IO.StateDictException;
}
