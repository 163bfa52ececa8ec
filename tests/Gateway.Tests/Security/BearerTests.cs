using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace TLoRA.Gateway.Tests.Security;

/// <summary>JWT bearer tokens from the configured authority: the test stands in for the authority with a local signing
/// key (the handler's static OIDC configuration), so no discovery document is fetched.</summary>
public sealed class BearerTests : IAsyncLifetime
{
    private const string Issuer = "https://authority.test/realms/tlora";
    private const string Audience = "tlora-api";
    private readonly SymmetricSecurityKey key = new(RandomNumberGenerator.GetBytes(32)) { KeyId = "test" };
    private Microsoft.AspNetCore.Builder.WebApplication app = null!;
    private Uri address = null!;

    public async Task InitializeAsync()
    {
        app = EdgeGateway.Build(new() { ["Gateway:Auth:Authority"] = Issuer, ["Gateway:Auth:Audience"] = Audience }, configure: b =>
            b.Services.Configure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, o =>
            {
                o.Configuration = new OpenIdConnectConfiguration { Issuer = Issuer };
                o.Configuration.SigningKeys.Add(key);
            }));
        await app.StartAsync();
        address = new Uri(app.Urls.First());
    }

    public async Task DisposeAsync() => await app.DisposeAsync();

    private string Token(string? sub = "dave", string scope = "jobs:read", string audience = Audience, SecurityKey? signedWith = null,
        DateTime? expires = null)
    {
        var claims = new Dictionary<string, object> { ["scope"] = scope };
        if (sub is not null) claims["sub"] = sub;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer, Audience = audience, Claims = claims, IssuedAt = DateTime.UtcNow.AddMinutes(-10), NotBefore = DateTime.UtcNow.AddMinutes(-10),
            Expires = expires ?? DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = new SigningCredentials(signedWith ?? key, SecurityAlgorithms.HmacSha256),
        });
    }

    private async Task<HttpStatusCode> SendAsync(HttpMethod method, string path, string? token)
    {
        using var http = new HttpClient { BaseAddress = address };
        using var request = new HttpRequestMessage(method, path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (method == HttpMethod.Post) request.Content = new StringContent("{\"modelId\":\"m\",\"prompts\":[\"p\"]}", System.Text.Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task A_valid_token_passes_to_the_service_and_its_scope_decides_what_it_may_do()
    {
        // 503: authenticated and authorised, then no GPU service to answer
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await SendAsync(HttpMethod.Get, "/api/models", Token()));
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(HttpMethod.Post, "/api/samples", Token()));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await SendAsync(HttpMethod.Post, "/api/samples", Token(scope: "jobs:read jobs:write")));
    }

    [Fact]
    public async Task Tokens_that_are_forged_expired_for_another_audience_or_without_an_owner_are_401()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(HttpMethod.Get, "/api/models", null));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(HttpMethod.Get, "/api/models",
            Token(signedWith: new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)) { KeyId = "test" })));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(HttpMethod.Get, "/api/models", Token(expires: DateTime.UtcNow.AddMinutes(-6))));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(HttpMethod.Get, "/api/models", Token(audience: "another-api")));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(HttpMethod.Get, "/api/models", Token(sub: null)));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(HttpMethod.Get, "/api/models", Token(sub: new string('x', 200))));
    }

    [Fact]
    public async Task The_hub_takes_the_token_as_access_token_on_its_WebSocket_only()
    {
        var hub = new UriBuilder(address) { Scheme = "ws", Path = "/hubs/jobs", Query = "access_token=" + Token() }.Uri;
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        await socket.ConnectAsync(hub, CancellationToken.None);
        Assert.Equal(System.Net.WebSockets.WebSocketState.Open, socket.State);
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(HttpMethod.Get, "/api/models?access_token=" + Token(), null));
    }
}
