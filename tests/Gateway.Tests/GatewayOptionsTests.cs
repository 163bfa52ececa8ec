namespace TLoRA.Gateway.Tests;

/// <summary>The settings the chart passes (Gateway:Services:i, Gateway:Redis, the backoff) are checked at start.</summary>
public sealed class GatewayOptionsTests
{
    private static GatewayOptions Valid() => new() { Services = ["http://127.0.0.1:50051"] };

    [Fact]
    public void A_redis_connection_string_with_an_endpoint_is_accepted()
    {
        var o = Valid();
        o.Redis = "tlora-redis:6379,abortConnect=false";
        Assert.True(new GatewayOptionsValidator().Validate(null, o).Succeeded);
        o.Redis = null;
        Assert.True(new GatewayOptionsValidator().Validate(null, o).Succeeded);
    }

    [Theory]
    [InlineData("", "Gateway:Redis")]
    [InlineData("password=secret,ssl=true", "Gateway:Redis")]
    public void A_redis_setting_without_an_endpoint_is_refused(string redis, string message)
    {
        var o = Valid();
        o.Redis = redis;
        var result = new GatewayOptionsValidator().Validate(null, o);
        Assert.True(result.Failed);
        Assert.Contains(message, result.FailureMessage);
    }

    [Fact]
    public void The_reconnect_backoff_and_channel_prefix_are_checked()
    {
        var o = Valid();
        o.ReconnectBackoffMaxSeconds = 0;
        o.RedisChannelPrefix = " ";
        var result = new GatewayOptionsValidator().Validate(null, o);
        Assert.Contains("Gateway:ReconnectBackoffMaxSeconds", result.FailureMessage);
        Assert.Contains("Gateway:RedisChannelPrefix", result.FailureMessage);
    }
}
