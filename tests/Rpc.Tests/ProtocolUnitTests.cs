using TLoRA.Rpc.Protocol;

namespace TLoRA.Rpc.Tests;

public sealed class ProtocolUnitTests
{
    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("3S", 30_000_000L)]
    [InlineData("250m", 2_500_000L)]
    [InlineData("7u", 70L)]
    [InlineData("100n", 1L)]
    [InlineData("99999999S", 999_999_990_000_000L)]
    public void Grpc_timeout_parses_every_unit(string value, long ticks)
    {
        Assert.True(GrpcTimeout.TryParse(value, out var t));
        Assert.Equal(ticks, t.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("100")]
    [InlineData("123456789S")]
    [InlineData("10x")]
    [InlineData("-1S")]
    [InlineData("1.5S")]
    public void Grpc_timeout_rejects_malformed_values(string value) => Assert.False(GrpcTimeout.TryParse(value, out _));

    [Fact]
    public void Grpc_timeout_format_has_at_most_8_digits_and_never_shortens()
    {
        foreach (var timeout in new[] { TimeSpan.FromTicks(1), TimeSpan.FromMilliseconds(300), TimeSpan.FromHours(5), TimeSpan.FromDays(3650) })
        {
            var text = GrpcTimeout.Format(timeout);
            Assert.InRange(text.Length, 2, 9);
            Assert.True(GrpcTimeout.TryParse(text, out var back));
            Assert.True(back >= timeout, $"{text} < {timeout}");
        }
    }

    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("100%", "100%25")]
    [InlineData("größe ✓ 日本", "gr%C3%B6%C3%9Fe %E2%9C%93 %E6%97%A5%E6%9C%AC")]
    [InlineData("a\nb", "a%0Ab")]
    public void Percent_encoding_matches_the_spec(string text, string encoded)
    {
        Assert.Equal(encoded, PercentEncoding.Encode(text));
        Assert.Equal(text, PercentEncoding.Decode(encoded));
    }

    [Theory]
    [InlineData("bad %zz escape", "bad %zz escape")]
    [InlineData("trailing %", "trailing %")]
    [InlineData("trailing %4", "trailing %4")]
    [InlineData("%FF", "\uFFFD")]
    public void Percent_decoding_is_lenient(string encoded, string text) => Assert.Equal(text, PercentEncoding.Decode(encoded));

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/grpc; charset=utf-8", true)]
    [InlineData("Application/GRPC", true)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/json", false)]
    [InlineData(null, false)]
    public void Content_type_check(string? contentType, bool grpc) => Assert.Equal(grpc, GrpcProtocol.IsGrpcContentType(contentType));

    [Fact]
    public void Binary_metadata_accepts_padded_and_unpadded_and_joined_values()
    {
        var metadata = new Metadata();
        MetadataCodec.AddHeader(metadata, "x-a-bin", "AAEC");
        MetadataCodec.AddHeader(metadata, "x-b-bin", "AAE=");
        MetadataCodec.AddHeader(metadata, "x-c-bin", "AAE, AAEC");
        MetadataCodec.AddHeader(metadata, "grpc-timeout", "1S");
        Assert.Equal(new byte[] { 0, 1, 2 }, metadata.GetValueBytes("x-a-bin"));
        Assert.Equal(new byte[] { 0, 1 }, metadata.GetValueBytes("x-b-bin"));
        Assert.Equal(2, metadata.GetAll("x-c-bin").Count());
        Assert.Null(metadata.Get("grpc-timeout"));
    }
}
