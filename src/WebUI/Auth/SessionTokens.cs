using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;

namespace TLoRA.WebUI.Auth;

/// <summary>The tokens an OIDC sign-in brought: what the WebUI calls the gateway with on the person's behalf.</summary>
public sealed record SessionToken(string AccessToken, string? RefreshToken, DateTimeOffset ExpiresAt, string? IdToken);

/// <summary>
/// OIDC sessions' tokens, by the session claim of their cookie, kept on the server (the cookie carries only who signed
/// in): a refresh rotates them in one place that every tab and replica reads, and signing out deletes them. In memory;
/// in Redis, encrypted with the WebUI's data-protection keys, when the replicas share their keys there
/// (WebUI:DataProtectionRedis). An entry lives as long as a session may without use (<see cref="WebUiAuth.SessionLifetime"/>
/// from its last save). Every Redis call is awaited: <see cref="GetAsync"/> runs on each gateway call an OIDC user's
/// page makes.
/// </summary>
public sealed class SessionTokens(IDataProtectionProvider protection, TimeProvider? clock = null,
    Func<StackExchange.Redis.IDatabase>? shared = null, string sharedPrefix = "tlora-webui-tokens")
{
    private readonly ConcurrentDictionary<string, (SessionToken Token, DateTimeOffset Until)> memory = new(StringComparer.Ordinal);
    private readonly IDataProtector protector = protection.CreateProtector("TLoRA.WebUI.SessionTokens");
    private readonly TimeProvider time = clock ?? TimeProvider.System;

    public async Task SaveAsync(string session, SessionToken token)
    {
        var now = time.GetUtcNow();
        if (shared is not null)
        {
            var sealedToken = protector.Protect(JsonSerializer.SerializeToUtf8Bytes(token));
            await shared().StringSetAsync(SharedKey(session), sealedToken, WebUiAuth.SessionLifetime).ConfigureAwait(false);
            return;
        }
        foreach (var (key, entry) in memory)
            if (entry.Until < now) memory.TryRemove(key, out _);
        memory[session] = (token, now + WebUiAuth.SessionLifetime);
    }

    /// <summary>The session's tokens, or null when it has none (signed out, never an OIDC session, or expired).</summary>
    public async Task<SessionToken?> GetAsync(string session)
    {
        if (shared is null)
            return memory.TryGetValue(session, out var entry) && entry.Until >= time.GetUtcNow() ? entry.Token : null;
        var stored = await shared().StringGetAsync(SharedKey(session)).ConfigureAwait(false);
        if (stored.IsNull) return null;
        try
        {
            return JsonSerializer.Deserialize<SessionToken>(protector.Unprotect((byte[])stored!));
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null; // sealed with keys this WebUI no longer has: as good as none
        }
    }

    public async Task RemoveAsync(string session)
    {
        memory.TryRemove(session, out _);
        if (shared is not null) await shared().KeyDeleteAsync(SharedKey(session)).ConfigureAwait(false);
    }

    /// <summary>Takes the session's refresh lock for <paramref name="holder"/> until <see cref="UnlockRefreshAsync"/> or
    /// <paramref name="ttl"/> (a replica that dies while holding it cannot block the session for longer). Replicas that
    /// share their tokens in Redis share this lock: authorities rotate refresh tokens, so two replicas refreshing one
    /// session at once would see the second refused and the person signed out. In memory it is always taken (the
    /// caller's per-process gate is the lock there).</summary>
    public async Task<bool> TryLockRefreshAsync(string session, string holder, TimeSpan ttl) =>
        shared is null || await shared().LockTakeAsync(LockKey(session), holder, ttl).ConfigureAwait(false);

    public async Task UnlockRefreshAsync(string session, string holder)
    {
        if (shared is not null) await shared().LockReleaseAsync(LockKey(session), holder).ConfigureAwait(false);
    }

    private StackExchange.Redis.RedisKey SharedKey(string session) => $"{sharedPrefix}:{session}";

    private StackExchange.Redis.RedisKey LockKey(string session) => $"{sharedPrefix}-refreshing:{session}";
}
