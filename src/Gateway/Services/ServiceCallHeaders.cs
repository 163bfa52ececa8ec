using System.Net.Http.Headers;

namespace TLoRA.Gateway.Services;

/// <summary>
/// Adds to every call to a GPU service what the service trusts the gateway to say: the service token
/// (Gateway:ServiceToken, the same secret as the service's GpuService:ServiceToken) and the caller's owner. Until the
/// gateway authenticates its own callers, every caller is the one anonymous owner.
/// </summary>
public sealed class ServiceCallHeaders(string? serviceToken) : DelegatingHandler
{
    public const string TokenHeader = "tlora-service-token";
    public const string OwnerHeader = "tlora-owner";
    public const string AnonymousOwner = "anonymous";

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Add(request.Headers);
        return base.SendAsync(request, cancellationToken);
    }

    private void Add(HttpRequestHeaders headers)
    {
        if (!string.IsNullOrEmpty(serviceToken)) headers.TryAddWithoutValidation(TokenHeader, serviceToken);
        if (!headers.Contains(OwnerHeader)) headers.TryAddWithoutValidation(OwnerHeader, AnonymousOwner);
    }
}
