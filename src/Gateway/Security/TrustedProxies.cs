using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;

namespace TLoRA.Gateway.Security;

/// <summary>
/// The proxies in front of a host whose X-Forwarded-For and X-Forwarded-Proto it believes (Gateway:TrustedProxies,
/// WebUI:TrustedProxies; compiled into the WebUI too, one definition). Behind an Ingress every request comes from the
/// controller's address: the trusted proxies give each client its own address back, so a per-address rate limit
/// limits that client and not everyone behind the Ingress (the gateway's limit on unauthenticated callers, the WebUI's
/// sign-in limit), and a TLS-terminating Ingress's https reaches the WebUI (OIDC redirect URI, Secure cookies). With
/// none configured the headers are ignored: no client can choose the address it is limited by.
/// </summary>
public static class TrustedProxies
{
    /// <summary>The networks of <paramref name="entries"/> (addresses or CIDR networks); the first entry that is
    /// neither is named in <paramref name="error"/>, with the setting <paramref name="setting"/>.</summary>
    public static bool TryParse(IEnumerable<string> entries, string setting, out List<System.Net.IPNetwork> networks, out string? error)
    {
        networks = [];
        error = null;
        foreach (var raw in entries)
        {
            var entry = raw.Trim();
            if (System.Net.IPNetwork.TryParse(entry, out var network)) networks.Add(network);
            else if (IPAddress.TryParse(entry, out var address))
                networks.Add(new System.Net.IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            else
            {
                error = $"{setting}: '{entry}' is neither an IP address nor a CIDR network (e.g. 10.0.0.0/8)";
                return false;
            }
        }
        return true;
    }

    /// <summary>Takes the client's address and scheme from the forwarded headers when the request comes from a trusted
    /// proxy (walking X-Forwarded-For from the right while the hops are trusted); nothing when none is configured.
    /// Goes before anything that reads the address (authentication, rate limits).</summary>
    /// <exception cref="InvalidOperationException">An entry is neither an address nor a network.</exception>
    public static void UseTrustedProxies(this WebApplication app, IReadOnlyCollection<string> entries, string setting)
    {
        if (entries.Count == 0) return;
        if (!TryParse(entries, setting, out var networks, out var error)) throw new InvalidOperationException(error);
        var options = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,
            ForwardLimit = null, // every trusted hop: the client is the first untrusted address from the right
        };
        options.KnownIPNetworks.Clear(); // not the loopback defaults: only what was configured
        options.KnownProxies.Clear();
        foreach (var n in networks) options.KnownIPNetworks.Add(n);
        app.UseForwardedHeaders(options);
    }
}
