namespace TLoRA.WebUI.Gateway;

/// <summary>/api/images/{id} and /api/adapters/{id}: the gateway's files streamed through, so pages link to this host.</summary>
public static class GatewayFiles
{
    public static void MapGatewayFiles(this WebApplication app)
    {
        app.MapGet("/api/images/{id}", (string id, HttpContext context, GatewayClient gateway) =>
            gateway.StreamAsync($"/api/images/{Uri.EscapeDataString(id)}", context.Response, context.RequestAborted));
        app.MapGet("/api/adapters/{id}", (string id, HttpContext context, GatewayClient gateway) =>
            gateway.StreamAsync($"/api/adapters/{Uri.EscapeDataString(id)}", context.Response, context.RequestAborted));
    }
}
