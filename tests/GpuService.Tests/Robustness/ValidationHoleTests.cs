using Google.Protobuf;
using TLoRA.Contracts.V1;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Jobs;
using JobKind = TLoRA.GpuService.Jobs.JobKind;

namespace TLoRA.GpuService.Tests.Robustness;

/// <summary>Issue 14 item 14: values that became defaults, one-colour images or run-time failures are refused at
/// submit, naming the field.</summary>
public class ValidationHoleTests
{
    public static TheoryData<string, Action<TrainRequest>> BadTrain => new()
    {
        { "learning_rate", r => r.LearningRate = double.NaN },
        { "learning_rate", r => r.LearningRate = double.PositiveInfinity },
        { "alpha", r => r.Alpha = double.NaN },
        { "alpha", r => r.Alpha = double.PositiveInfinity },
        { "preview_guidance", r => r.PreviewGuidance = double.NaN },
        { "preview_guidance", r => r.PreviewGuidance = double.PositiveInfinity },
        { "preview_guidance", r => r.PreviewGuidance = 1e308 },
        { "method", r => r.Method = (AdapterMethod)99 },
        { "init", r => r.Init = (InitComponents)99 },
        { "subject_mask", r => r.SubjectMask = ByteString.CopyFrom(Random(5 << 20)) },
        { "subject_mask", r => r.SubjectMask = ByteString.CopyFrom(Random(4096)) },
        { "subject_mask", r => r.SubjectMask = ByteString.CopyFrom(File.ReadAllBytes(Path.Combine(FixturePaths.Root, "images", "quadrants.png"))) },
    };

    public static TheoryData<string, Action<SampleRequest>> BadSample => new()
    {
        { "guidance_scale", r => r.GuidanceScale = double.NaN },
        { "guidance_scale", r => r.GuidanceScale = double.PositiveInfinity },
        { "adapter_scale", r => r.AdapterScale = double.NaN },
        { "adapter_scale", r => r.AdapterScale = double.NegativeInfinity },
        { "adapter_scale", r => r.AdapterScale = 1e308 },
    };

    [Theory]
    [MemberData(nameof(BadTrain))]
    public void Bad_training_values_are_refused(string field, Action<TrainRequest> spoil)
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path, start: false);
        var r = JobSystem.TinyTrain();
        spoil(r);
        var ex = Assert.Throws<JobRequestException>(() => sys.Manager.SubmitTrain(r));
        Assert.Equal(JobError.InvalidArgument, ex.Error);
        Assert.Equal(field, Assert.Single(ex.Fields).Field);
        Assert.Empty(sys.Store.List(10));
    }

    [Theory]
    [MemberData(nameof(BadSample))]
    public void Bad_sampling_values_are_refused(string field, Action<SampleRequest> spoil)
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path, start: false);
        var r = new SampleRequest { ModelId = "sdxl-tiny", Prompts = { "a robot" } };
        spoil(r);
        var ex = Assert.Throws<JobRequestException>(() => sys.Manager.SubmitSample(r));
        Assert.Equal(field, Assert.Single(ex.Fields).Field);
    }

    [Fact]
    public void A_mask_of_the_images_size_is_accepted()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path, start: false);
        var r = JobSystem.TinyTrain();
        var header = Engine.IO.ImageCodec.ReadHeader(r.Image.Span);
        using var white = TorchSharp.torch.full([header.UprightHeight, header.UprightWidth, 1], 255, TorchSharp.torch.ScalarType.Byte);
        r.SubjectMask = ByteString.CopyFrom(Engine.IO.ImageCodec.EncodePng(white));
        Assert.Equal(JobKind.Train, sys.Manager.SubmitTrain(r).Kind);
    }

    [Fact]
    public void A_flux_sample_with_an_sdxl_adapter_is_refused_at_submit()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path, start: false);
        var trained = sys.Manager.SubmitTrain(JobSystem.TinyTrain());
        var file = Path.Combine(dir.Path, "adapter.safetensors");
        File.WriteAllBytes(file, [1]);
        sys.Store.AddArtifact($"{trained.JobId}-final", "adapter", file, trained.JobId);
        var ex = Assert.Throws<JobRequestException>(() => sys.Manager.SubmitSample(new SampleRequest
        {
            ModelId = "flux-tiny", AdapterId = $"{trained.JobId}-final", Prompts = { "a robot" },
        }));
        var problem = Assert.Single(ex.Fields);
        Assert.Equal("adapter_id", problem.Field);
        Assert.Contains("sdxl-tiny", problem.Description);
        Assert.Contains("flux-tiny", problem.Description);
        // the same adapter with its own family is fine
        sys.Manager.SubmitSample(new SampleRequest { ModelId = "sdxl-tiny", AdapterId = $"{trained.JobId}-final", Prompts = { "a robot" } });
    }

    [Fact]
    public void An_oversized_image_is_refused_from_its_header_naming_the_limit()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path, start: false);
        var r = JobSystem.TinyTrain();
        r.Image = ByteString.CopyFrom(ImageBombs.ZeroPng(8000, 8000));
        var ex = Assert.Throws<JobRequestException>(() => sys.Manager.SubmitTrain(r));
        Assert.Equal("image", Assert.Single(ex.Fields).Field);
        Assert.Contains("MaxImagePixels", ex.Message);
        Assert.Contains("64 megapixels", ex.Message);
    }

    private static byte[] Random(int n)
    {
        var b = new byte[n];
        new Random(n).NextBytes(b);
        return b;
    }
}
