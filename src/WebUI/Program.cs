using TLoRA.WebUI;

var app = WebUiHost.Build(args);
await app.RunAsync();
