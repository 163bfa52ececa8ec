using TLoRA.GpuService.Service;

namespace TLoRA.GpuService.Tests;

public class GpuServiceOptionsTests
{
    [Fact]
    public void Every_bad_setting_is_named_at_start()
    {
        var o = new GpuServiceOptions { ModelsDirectory = "/no/models", Device = "tpu", Dtype = "int8", Port = 70000, QueueCapacity = 0, MaxImageBytes = 0,
            MetricsPort = 70001 };
        var ex = Assert.Throws<ArgumentException>(o.Validate);
        foreach (var name in new[] { "ModelsDirectory '/no/models'", "Device", "Dtype", "Port 70000", "QueueCapacity", "MaxImageBytes", "MetricsPort 70001" })
            Assert.Contains($"GpuService:{name}", ex.Message);
    }

    [Fact]
    public void The_metrics_port_must_differ_from_the_grpc_port()
    {
        var o = new GpuServiceOptions { ModelsDirectory = Engine.Tests.FixturePaths.Root, Port = 50051, MetricsPort = 50051 };
        Assert.Contains("GpuService:MetricsPort 50051", Assert.Throws<ArgumentException>(o.Validate).Message);
        o.MetricsPort = 9464;
        o.Validate();
        o.MetricsPort = null;
        o.Validate();
    }

    [Fact]
    public void The_serve_verb_reports_bad_configuration_as_one_line()
    {
        var (code, output) = DescribeCommandTests.Run("serve", "--models", "/no/models", "--port", "0");
        Assert.Equal(1, code);
        Assert.Contains("invalid configuration: GpuService:ModelsDirectory '/no/models' does not exist", output.ReplaceLineEndings(""));
    }
}
