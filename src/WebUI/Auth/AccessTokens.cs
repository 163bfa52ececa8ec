using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Options;

namespace TLoRA.WebUI.Auth;

/// <summary>The authority did not answer a token refresh (unreachable, or an error other than a refused grant): the
/// session stands, the call cannot be made now.</summary>
public sealed class TokenServiceUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A signed-in person's current access token for the gateway. A token that expires within <see cref="RefreshAhead"/> is
/// renewed first with the session's refresh token at the authority's token endpoint (one refresh at a time per session,
/// across replicas too when they share their tokens in Redis: authorities rotate refresh tokens, so a second concurrent
/// refresh would be refused and the person signed out). A refresh the authority refuses
/// (revoked, expired, the person disabled) ends the session: its tokens are deleted and it is signed out, so every tab
/// goes to /login.
/// </summary>
public sealed partial class AccessTokens(SessionTokens store, SignedOutSessions sessions, IOptionsMonitor<OpenIdConnectOptions> oidc,
    ILogger<AccessTokens> logger, TimeProvider? clock = null)
{
    public static readonly TimeSpan RefreshAhead = TimeSpan.FromSeconds(60);

    // the cross-replica refresh lock: held at most this long (a refresh is one call to the authority), waited for at
    // most this long (then the call fails as the authority being slow would), polled this often
    private static readonly TimeSpan RefreshLockTtl = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RefreshLockWait = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan RefreshLockPoll = TimeSpan.FromMilliseconds(50);

    private readonly ConcurrentDictionary<string, SemaphoreSlim> refreshing = new(StringComparer.Ordinal);
    private readonly TimeProvider time = clock ?? TimeProvider.System;

    /// <summary>The access token to send, or null when the session has none any more (sign in again).</summary>
    public async Task<string?> GetAsync(string session, CancellationToken ct)
    {
        if (await store.GetAsync(session).ConfigureAwait(false) is not { } token) return null;
        if (Fresh(token)) return token.AccessToken;
        var gate = refreshing.GetOrAdd(session, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct).ConfigureAwait(false);
        var holder = Guid.NewGuid().ToString("N");
        var locked = false;
        try
        {
            // another replica may be refreshing this session (replicas sharing tokens in Redis): wait for its result
            var waitUntil = time.GetUtcNow() + RefreshLockWait;
            while (!(locked = await store.TryLockRefreshAsync(session, holder, RefreshLockTtl).ConfigureAwait(false)))
            {
                if (await store.GetAsync(session).ConfigureAwait(false) is not { } theirs) return null; // ended there
                if (Fresh(theirs)) return theirs.AccessToken;
                if (time.GetUtcNow() > waitUntil)
                    throw new TokenServiceUnavailableException("The sign-in service did not answer; try again in a moment.");
                await Task.Delay(RefreshLockPoll, ct).ConfigureAwait(false);
            }
            // another call, here or on another replica, may have refreshed while this one waited
            if (await store.GetAsync(session).ConfigureAwait(false) is not { } current) return null;
            if (Fresh(current)) return current.AccessToken;
            if (current.RefreshToken is null)
            {
                if (current.ExpiresAt > time.GetUtcNow()) return current.AccessToken;
                await EndAsync(session, "the access token expired and the authority gave no refresh token (request offline_access)").ConfigureAwait(false);
                return null;
            }
            var renewed = await RefreshAsync(current, ct).ConfigureAwait(false);
            if (renewed is null)
            {
                await EndAsync(session, "the authority refused the refresh token").ConfigureAwait(false);
                return null;
            }
            await store.SaveAsync(session, renewed).ConfigureAwait(false);
            LogRefreshed(logger, renewed.ExpiresAt);
            return renewed.AccessToken;
        }
        finally
        {
            if (locked) await store.UnlockRefreshAsync(session, holder).ConfigureAwait(false);
            gate.Release();
        }
    }

    private bool Fresh(SessionToken token) => token.ExpiresAt - time.GetUtcNow() > RefreshAhead;

    private async Task EndAsync(string session, string why)
    {
        await store.RemoveAsync(session).ConfigureAwait(false);
        await sessions.SignOutAsync(session, time.GetUtcNow() + WebUiAuth.SessionLifetime).ConfigureAwait(false);
        refreshing.TryRemove(session, out _);
        LogEnded(logger, why);
    }

    /// <summary>grant_type=refresh_token at the token endpoint: the new tokens, or null when the authority refuses the grant.</summary>
    private async Task<SessionToken?> RefreshAsync(SessionToken current, CancellationToken ct)
    {
        var options = oidc.Get(WebUiOidc.Scheme);
        HttpResponseMessage answer;
        try
        {
            var configuration = await options.ConfigurationManager!.GetConfigurationAsync(ct).ConfigureAwait(false);
            var form = new Dictionary<string, string>
            {
                ["grant_type"] = "refresh_token",
                ["refresh_token"] = current.RefreshToken!,
                ["client_id"] = options.ClientId!,
            };
            if (!string.IsNullOrEmpty(options.ClientSecret)) form["client_secret"] = options.ClientSecret;
            using var request = new HttpRequestMessage(HttpMethod.Post, configuration.TokenEndpoint) { Content = new FormUrlEncodedContent(form) };
            answer = await options.Backchannel.SendAsync(request, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or InvalidOperationException or IOException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            LogUnreachable(logger, e);
            throw new TokenServiceUnavailableException("The sign-in service did not answer; try again in a moment.", e);
        }
        using (answer)
        {
            var body = await answer.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            if (!answer.IsSuccessStatusCode)
            {
                // RFC 6749 §5.2: a refused grant is 400 (invalid_grant, invalid_client, …); anything else is the authority's trouble
                if ((int)answer.StatusCode is 400 or 401) return null;
                LogRefreshFailed(logger, (int)answer.StatusCode);
                throw new TokenServiceUnavailableException("The sign-in service did not answer; try again in a moment.");
            }
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            if (root.TryGetProperty("access_token", out var access) is false || access.GetString() is not { Length: > 0 } accessToken)
                return null;
            var expiresIn = root.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) ? seconds : 300;
            var refreshToken = root.TryGetProperty("refresh_token", out var r) ? r.GetString() : null;
            var idToken = root.TryGetProperty("id_token", out var i) ? i.GetString() : null;
            // an authority that does not rotate keeps the refresh token valid: keep using it
            return new SessionToken(accessToken, refreshToken ?? current.RefreshToken, time.GetUtcNow().AddSeconds(expiresIn), idToken ?? current.IdToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "access token refreshed; valid until {ExpiresAt:O}")]
    private static partial void LogRefreshed(ILogger logger, DateTimeOffset expiresAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "an OIDC session ended: {Why}; its tabs go to the sign-in page")]
    private static partial void LogEnded(ILogger logger, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "the authority's token endpoint did not answer a refresh")]
    private static partial void LogUnreachable(ILogger logger, Exception e);

    [LoggerMessage(Level = LogLevel.Warning, Message = "the authority's token endpoint answered a refresh with HTTP {Status}")]
    private static partial void LogRefreshFailed(ILogger logger, int status);
}
