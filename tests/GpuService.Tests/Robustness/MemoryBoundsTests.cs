using System.Diagnostics;
using Google.Protobuf;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Jobs;
using Xunit.Abstractions;

namespace TLoRA.GpuService.Tests.Robustness;

/// <summary>Issue 14 item 5 with the service's memory measured: image bombs are refused from their header, without
/// decoding (before: 1.2 GB to validate one 16384² PNG of zeros, 3.4 GB for four).</summary>
public class MemoryBoundsTests(ITestOutputHelper output)
{
    internal static long RssBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        // VmRSS: what the issue measured (the working set .NET reports is the same number on Linux)
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.WorkingSet64;
    }

    [Fact]
    public void Four_16k_png_bombs_are_refused_without_growing_the_process()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path, start: false);
        var bomb = ImageBombs.ZeroPng(16384, 16384);
        output.WriteLine($"bomb: {bomb.Length / 1024} KB for 16384×16384");
        var before = RssBytes();
        var peak = before;
        for (var i = 0; i < 4; i++)
        {
            var r = JobSystem.TinyTrain();
            r.Image = ByteString.CopyFrom(bomb);
            var ex = Assert.Throws<JobRequestException>(() => sys.Manager.SubmitTrain(r));
            Assert.Contains("MaxImagePixels", ex.Message);
            peak = Math.Max(peak, RssBytes());
        }
        var growth = (peak - before) / (1024.0 * 1024);
        output.WriteLine($"RSS before {before / (1024 * 1024)} MB, peak {peak / (1024 * 1024)} MB: growth {growth:0.0} MB for 4 bombs");
        Assert.True(growth < 100, $"RSS grew {growth:0} MB");
    }

    /// <summary>The comparison in one run: what the old check (a full decode of the image) costs for an 8192² bomb,
    /// a quarter of the issue's, against the header check it was replaced by.</summary>
    [Fact]
    public void The_header_check_costs_nothing_where_the_old_full_decode_took_hundreds_of_megabytes()
    {
        var bomb = ImageBombs.ZeroPng(8192, 8192);
        var before = RssBytes();
        var header = Engine.IO.ImageCodec.ReadHeader(bomb);
        var afterHeader = RssBytes();
        long afterDecode;
        using (var scope = TorchSharp.torch.NewDisposeScope())
        {
            var decoded = Engine.IO.ImageLoader.Decode(bomb, "image", 1); // what validation did before
            afterDecode = RssBytes();
            Assert.Equal(8192, decoded.size(0));
        }
        output.WriteLine($"8192×8192 PNG of zeros ({bomb.Length / 1024} KB): header check +{(afterHeader - before) / 1048576.0:0.0} MB RSS, " +
                         $"full decode (the old check) +{(afterDecode - before) / 1048576.0:0} MB RSS");
        Assert.Equal((8192, 8192), (header.Width, header.Height));
        Assert.True(afterDecode - before > 100L << 20, "the measurement does not see the decode");
        Assert.True(afterHeader - before < 20L << 20);
    }
}
