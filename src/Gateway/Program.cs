using TLoRA.Gateway;
using TLoRA.Gateway.Security;

// `TLoRA.Gateway mint-api-key --owner NAME [--scopes "jobs:read jobs:write"]` prints a new API key and its hash entry
if (args is ["mint-api-key", ..]) return ApiKeys.MintCommand(args[1..], Console.Out);

var app = GatewayHost.Build(args);
await app.RunAsync();
return 0;
