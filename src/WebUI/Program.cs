using TLoRA.WebUI;
using TLoRA.WebUI.Auth;

// `TLoRA.WebUI hash-password` reads the admin's password from stdin and prints the WebUI:Admin:PasswordHash line
if (args is ["hash-password", ..])
    return AdminPassword.HashCommand(Console.In, Console.Out, Console.Error, interactive: !Console.IsInputRedirected);

var app = WebUiHost.Build(args);
await app.RunAsync();
return 0;
