using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TLoRA.Rpc.Client;
using TLoRA.Rpc.Tests.Support;
using TLoRA.Testing.V1;

namespace TLoRA.Rpc.Tests;

/// <summary>The TLS listener (HTTP/1.1 + HTTP/2 with ALPN) carries gRPC too.</summary>
public sealed class TlsTests
{
    internal static X509Certificate2 CreateSelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }

    [Fact]
    public async Task Unary_and_streaming_over_TLS()
    {
        using var cert = CreateSelfSigned();
        await using var server = await EchoServer.StartAsync(certificate: cert);
        var handler = new SocketsHttpHandler { UseProxy = false };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, c, _, _) => c?.GetCertHashString() == cert.GetCertHashString();
        using var channel = server.CreateChannel(new RpcChannelOptions { HttpHandler = handler });
        var reply = await channel.UnaryAsync<EchoRequest, EchoReply>(EchoClientServerTests.Say, new EchoRequest { Text = "tls" });
        Assert.Equal("tls", reply.Text);
        using var call = channel.ServerStreaming<StreamRequest, EchoReply>(EchoClientServerTests.StreamMethod,
            new StreamRequest { Count = 10 });
        var count = 0;
        await foreach (var _ in call) count++;
        Assert.Equal(10, count);
    }
}
