using Spectre.Console;
using TLoRA.GpuService.Cli;

return CliApp.Run(args, AnsiConsole.Console);
