using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace TLoRA.WebUI;

/// <summary>
/// The proxies in front of the WebUI whose X-Forwarded-For and X-Forwarded-Proto it believes
/// (<see cref="WebUiOptions.TrustedProxies"/>). Behind a TLS-terminating Ingress they are what makes the OIDC redirect
/// URI https and the cookies Secure, and what gives the sign-in rate limit each client's own address instead of the
/// Ingress's (without them one person guessing passwords locks everybody out for a minute). With none configured the
/// headers are ignored: no client can choose the address it is limited by.
/// </summary>
public static class TrustedProxies
{
    /// <summary>The networks of <paramref name="entries"/> (addresses or CIDR networks); the first entry that is
    /// neither is named in <paramref name="error"/>.</summary>
    public static bool TryParse(IEnumerable<string> entries, out List<System.Net.IPNetwork> networks, out string? error)
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
                error = $"WebUI:TrustedProxies: '{entry}' is neither an IP address nor a CIDR network (e.g. 10.0.0.0/8)";
                return false;
            }
        }
        return true;
    }

    /// <summary>Takes the client's address and scheme from the forwarded headers when the request comes from a trusted
    /// proxy (walking X-Forwarded-For from the right while the hops are trusted); nothing when none is configured.</summary>
    public static void UseTrustedProxies(this WebApplication app, IReadOnlyCollection<string> entries)
    {
        if (entries.Count == 0) return;
        if (!TryParse(entries, out var networks, out var error)) throw new InvalidOperationException(error);
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
