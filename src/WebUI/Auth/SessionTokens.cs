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
/// from its last save).
/// </summary>
public sealed class SessionTokens(IDataProtectionProvider protection, TimeProvider? clock = null,
    Func<StackExchange.Redis.IDatabase>? shared = null, string sharedPrefix = "tlora-webui-tokens")
{
    private readonly ConcurrentDictionary<string, (SessionToken Token, DateTimeOffset Until)> memory = new(StringComparer.Ordinal);
    private readonly IDataProtector protector = protection.CreateProtector("TLoRA.WebUI.SessionTokens");
    private readonly TimeProvider time = clock ?? TimeProvider.System;

    public void Save(string session, SessionToken token)
    {
        var now = time.GetUtcNow();
        if (shared is not null)
        {
            var sealedToken = protector.Protect(JsonSerializer.SerializeToUtf8Bytes(token));
            shared().StringSet(SharedKey(session), sealedToken, WebUiAuth.SessionLifetime);
            return;
        }
        foreach (var (key, entry) in memory)
            if (entry.Until < now) memory.TryRemove(key, out _);
        memory[session] = (token, now + WebUiAuth.SessionLifetime);
    }

    /// <summary>The session's tokens, or null when it has none (signed out, never an OIDC session, or expired).</summary>
    public SessionToken? Get(string session)
    {
        if (shared is null)
            return memory.TryGetValue(session, out var entry) && entry.Until >= time.GetUtcNow() ? entry.Token : null;
        var stored = shared().StringGet(SharedKey(session));
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

    public void Remove(string session)
    {
        memory.TryRemove(session, out _);
        shared?.Invoke().KeyDelete(SharedKey(session));
    }

    /// <summary>Takes the session's refresh lock for <paramref name="holder"/> until <see cref="UnlockRefresh"/> or
    /// <paramref name="ttl"/> (a replica that dies while holding it cannot block the session for longer). Replicas that
    /// share their tokens in Redis share this lock: authorities rotate refresh tokens, so two replicas refreshing one
    /// session at once would see the second refused and the person signed out. In memory it is always taken (the
    /// caller's per-process gate is the lock there).</summary>
    public bool TryLockRefresh(string session, string holder, TimeSpan ttl) =>
        shared is null || shared().LockTake(LockKey(session), holder, ttl);

    public void UnlockRefresh(string session, string holder) => shared?.Invoke().LockRelease(LockKey(session), holder);

    private StackExchange.Redis.RedisKey SharedKey(string session) => $"{sharedPrefix}:{session}";

    private StackExchange.Redis.RedisKey LockKey(string session) => $"{sharedPrefix}-refreshing:{session}";
}
