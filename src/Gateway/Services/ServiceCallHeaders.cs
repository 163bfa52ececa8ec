namespace TLoRA.Gateway.Services;

/// <summary>
/// Adds to every call to a GPU service the service token (Gateway:ServiceToken, the same secret as the service's
/// GpuService:ServiceToken). The caller's owner and scopes travel as call metadata (<see cref="GatewayCaller.Headers"/>),
/// set per call from the gateway's own authentication.
/// </summary>
public sealed class ServiceCallHeaders(string? serviceToken) : DelegatingHandler
{
    public const string TokenHeader = "tlora-service-token";
    public const string OwnerHeader = "tlora-owner";
    public const string ScopesHeader = "tlora-scopes";

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(serviceToken)) request.Headers.TryAddWithoutValidation(TokenHeader, serviceToken);
        return base.SendAsync(request, cancellationToken);
    }
}
