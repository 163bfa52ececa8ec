using System.Net;
using System.Net.Http.Headers;
using TLoRA.Rpc.Tests.Support;
using TLoRA.Testing.V1;
using Google.Protobuf;

namespace TLoRA.Rpc.Tests;

/// <summary>The server's HTTP/2 framing as raw bytes and headers, independent of our client.</summary>
public sealed class WireProtocolTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    private static HttpClient NewHttp2Client() => new(new SocketsHttpHandler { UseProxy = false })
    {
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    private async Task<HttpResponseMessage> PostAsync(HttpClient http, string path, byte[] body, string contentType = "application/grpc",
        params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.Server.Address, path))
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        return await http.SendAsync(request);
    }

    private static byte[] Frame(IMessage message, byte flag = 0)
    {
        var bytes = message.ToByteArray();
        var framed = new byte[5 + bytes.Length];
        framed[0] = flag;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)bytes.Length);
        bytes.CopyTo(framed, 5);
        return framed;
    }

    private static string? Header(HttpHeaders headers, string name) =>
        headers.NonValidated.TryGetValues(name, out var v) ? v.ToString() : null;

    [Theory]
    [InlineData("application/json")]
    [InlineData("text/plain")]
    [InlineData("application/grpcx")]
    public async Task Non_grpc_content_type_is_HTTP_415(string contentType)
    {
        using var http = NewHttp2Client();
        using var response = await PostAsync(http, "/tlora.testing.v1.Echo/Say", Frame(new EchoRequest()), contentType);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Null(Header(response.Headers, "grpc-status"));
    }

    [Fact]
    public async Task Success_has_headers_message_and_status_in_trailers()
    {
        using var http = NewHttp2Client();
        using var response = await PostAsync(http, "/tlora.testing.v1.Echo/Say", Frame(new EchoRequest { Text = "x" }),
            "application/grpc+proto");
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/grpc", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("identity", Header(response.Headers, "grpc-accept-encoding"));
        Assert.Null(Header(response.Headers, "grpc-status"));
        Assert.Equal("0", Header(response.TrailingHeaders, "grpc-status"));
        Assert.Equal(0, body[0]);
        Assert.Equal("x", EchoReply.Parser.ParseFrom(body.AsSpan(5).ToArray()).Text);
    }

    [Fact]
    public async Task Early_error_is_trailers_only_with_percent_encoded_message()
    {
        using var http = NewHttp2Client();
        using var response = await PostAsync(http, "/tlora.testing.v1.Echo/Fail",
            Frame(new FailRequest { Code = 9, Message = "größe ✓ 100%" }));
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(body);
        Assert.Equal("application/grpc", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("9", Header(response.Headers, "grpc-status"));
        Assert.Equal("gr%C3%B6%C3%9Fe %E2%9C%93 100%25", Header(response.Headers, "grpc-message"));
        Assert.Empty(response.TrailingHeaders);
    }

    [Fact]
    public async Task Compressed_message_without_grpc_encoding_is_INTERNAL()
    {
        using var http = NewHttp2Client();
        using var response = await PostAsync(http, "/tlora.testing.v1.Echo/Say", Frame(new EchoRequest(), flag: 1));
        Assert.Equal("13", Header(response.Headers, "grpc-status"));
    }

    [Fact]
    public async Task Compressed_message_with_unsupported_encoding_is_UNIMPLEMENTED_listing_identity()
    {
        using var http = NewHttp2Client();
        using var response = await PostAsync(http, "/tlora.testing.v1.Echo/Say", Frame(new EchoRequest(), flag: 1),
            headers: ("grpc-encoding", "gzip"));
        Assert.Equal("12", Header(response.Headers, "grpc-status"));
        Assert.Equal("identity", Header(response.Headers, "grpc-accept-encoding"));
    }

    [Fact]
    public async Task Uncompressed_message_with_grpc_encoding_header_is_accepted()
    {
        using var http = NewHttp2Client();
        using var response = await PostAsync(http, "/tlora.testing.v1.Echo/Say", Frame(new EchoRequest { Text = "u" }),
            headers: ("grpc-encoding", "gzip"));
        await response.Content.ReadAsByteArrayAsync();
        Assert.Equal("0", Header(response.TrailingHeaders, "grpc-status"));
    }

    [Theory]
    [InlineData(new byte[0], "13")]
    [InlineData(new byte[] { 0, 0, 0 }, "13")]
    [InlineData(new byte[] { 0, 0, 0, 0, 9, 1 }, "13")]
    public async Task Missing_or_truncated_request_is_INTERNAL(byte[] body, string status)
    {
        using var http = NewHttp2Client();
        using var response = await PostAsync(http, "/tlora.testing.v1.Echo/Say", body);
        Assert.Equal(status, Header(response.Headers, "grpc-status"));
    }

    [Fact]
    public async Task Two_requests_for_a_unary_method_is_INTERNAL()
    {
        using var http = NewHttp2Client();
        var one = Frame(new EchoRequest { Text = "a" });
        using var response = await PostAsync(http, "/tlora.testing.v1.Echo/Say", [.. one, .. one]);
        Assert.Equal("13", Header(response.Headers, "grpc-status"));
    }

    [Theory]
    [InlineData("1n")]
    [InlineData("1u")]
    public async Task Tiny_grpc_timeout_is_DEADLINE_EXCEEDED(string timeout)
    {
        using var http = NewHttp2Client();
        using var response = await PostAsync(http, "/tlora.testing.v1.Echo/Slow", Frame(new SlowRequest { DelayMs = 5000, Tag = "wire-" + timeout }),
            headers: ("grpc-timeout", timeout));
        await response.Content.ReadAsByteArrayAsync();
        var status = Header(response.Headers, "grpc-status") ?? Header(response.TrailingHeaders, "grpc-status");
        Assert.Equal("4", status);
    }

    [Fact]
    public async Task GET_on_a_grpc_path_is_not_a_grpc_call()
    {
        using var http = NewHttp2Client();
        using var response = await http.GetAsync(new Uri(fixture.Server.Address, "/tlora.testing.v1.Echo/Say"));
        Assert.True(response.StatusCode is HttpStatusCode.MethodNotAllowed or HttpStatusCode.NotFound, response.StatusCode.ToString());
        Assert.Null(Header(response.Headers, "grpc-status"));
    }
}
