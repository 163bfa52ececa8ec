using System.Security.Claims;
using Grpc.Core;

namespace TLoRA.Gateway.Services;

/// <summary>
/// Who a call to a GPU service is made for: the authenticated owner and scopes, sent as the trusted metadata
/// <c>tlora-owner</c> / <c>tlora-scopes</c> the service owns jobs by. They come only from the gateway's own
/// authentication (<see cref="Of"/>), never from headers its callers send. <see cref="Gateway"/> is the gateway itself
/// (its all-jobs feed, the shared watch loops): it sees every owner's jobs and relays each only to its owner.
/// </summary>
public sealed record GatewayCaller(string Owner, IReadOnlyList<string> Scopes)
{
    public const string OwnerClaim = "tlora:owner";
    public const string ScopeClaim = "tlora:scope";

    public static readonly GatewayCaller Gateway = new("tlora-gateway", [Security.Scopes.Admin]);

    public bool IsAdmin => Scopes.Contains(Security.Scopes.Admin, StringComparer.Ordinal);

    /// <summary>The caller an authenticated principal stands for (its normalised claims, see GatewayAuth).</summary>
    public static GatewayCaller Of(ClaimsPrincipal user) =>
        user.FindFirstValue(OwnerClaim) is { Length: > 0 } owner
            ? new GatewayCaller(owner, [.. user.FindAll(ScopeClaim).Select(c => c.Value)])
            : throw new InvalidOperationException("the request is not authenticated (an endpoint without RequireAuthorization called the GPU service)");

    /// <summary>The metadata of a call made for this caller.</summary>
    public Metadata Headers() => new()
    {
        { ServiceCallHeaders.OwnerHeader, Owner },
        { ServiceCallHeaders.ScopesHeader, string.Join(' ', Scopes) },
    };
}
