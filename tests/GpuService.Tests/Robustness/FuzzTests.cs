using CsCheck;
using Google.Protobuf;
using TLoRA.Contracts.V1;
using TLoRA.Engine.IO;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Jobs;

namespace TLoRA.GpuService.Tests.Robustness;

/// <summary>Issue 14: bounded random runs (CsCheck) over image bytes and request messages. Whatever comes in, the
/// answer is a refusal naming a field or an accepted job: never another exception.</summary>
public class FuzzTests
{
    private static readonly byte[] Png = ImageCodec.EncodePng(TorchSharp.torch.zeros([80, 96, 3], TorchSharp.torch.ScalarType.Byte));
    private static readonly byte[] Jpeg = JobSystem.ConceptBytes;

    /// <summary>Real images with bytes changed, cut short or prefixed; and plain random bytes.</summary>
    private static readonly Gen<byte[]> ImageBytes = Gen.OneOf(
        Gen.Byte.Array[0, 2048],
        Gen.Select(Gen.Bool, Gen.Int[0, 4096], Gen.Int[0, 16], Gen.Byte.Array[1, 16], (png, at, cut, noise) =>
        {
            var source = png ? Png : Jpeg;
            var bytes = source[..Math.Max(1, source.Length - cut * 37)];
            var offset = Math.Min(at, bytes.Length - 1);
            for (var i = 0; i < noise.Length && offset + i < bytes.Length; i++) bytes[offset + i] ^= noise[i];
            return bytes;
        }));

    [Fact]
    public void Image_bytes_decode_or_fail_with_a_format_error()
    {
        ImageBytes.Sample(bytes =>
        {
            try
            {
                ImageCodec.ReadHeader(bytes);
                using var scope = TorchSharp.torch.NewDisposeScope();
                ImageCodec.DecodeRgb(bytes, 64, CancellationToken.None);
            }
            catch (ImageFormatException)
            {
            }
        }, iter: 400, threads: 1);
    }

    [Fact]
    public void Training_requests_are_refused_by_field_or_accepted()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path, capacity: 1000, start: false);
        sys.Options.MaxActiveJobsPerOwner = 1000;
        var requests = Gen.Select(ImageBytes, Gen.Int, Gen.Int, Gen.Double, Gen.Int[-2, 200], Gen.Double, Gen.Int, Gen.Byte.Array[0, 64],
            (image, rank, steps, alpha, method, lr, resolution, mask) =>
            {
                var r = JobSystem.TinyTrain();
                r.Image = ByteString.CopyFrom(image);
                r.Rank = rank % 100;
                r.Steps = steps;
                r.Alpha = alpha;
                r.Method = (AdapterMethod)method;
                r.LearningRate = lr;
                r.Resolution = resolution % 5000;
                if (mask.Length > 0) r.SubjectMask = ByteString.CopyFrom(mask);
                return r;
            });
        requests.Sample(r =>
        {
            try
            {
                sys.Manager.Cancel(sys.Manager.SubmitTrain(r).JobId);
            }
            catch (JobRequestException e) when (e.Error == JobError.InvalidArgument)
            {
                Assert.NotEmpty(e.Fields);
            }
        }, iter: 300, threads: 1);
    }

    [Fact]
    public void Sampling_requests_and_random_message_bytes_are_refused_or_accepted()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path, capacity: 1000, start: false);
        sys.Options.MaxActiveJobsPerOwner = 1000;
        var requests = Gen.Select(Gen.String[0, 40].Array[0, 70], Gen.Int, Gen.Int, Gen.Int, Gen.Double, Gen.Double, Gen.String[0, 200],
            (prompts, width, height, images, guidance, scale, adapter) =>
            {
                var r = new SampleRequest { ModelId = "sdxl-tiny", Width = width % 5000, Height = height % 5000, ImagesPerPrompt = images % 20,
                    GuidanceScale = guidance, AdapterScale = scale, AdapterId = adapter };
                r.Prompts.AddRange(prompts);
                return r;
            });
        void Submit(SampleRequest r)
        {
            try
            {
                sys.Manager.Cancel(sys.Manager.SubmitSample(r).JobId);
            }
            catch (JobRequestException e) when (e.Error == JobError.InvalidArgument)
            {
                Assert.NotEmpty(e.Fields);
            }
        }
        requests.Sample(Submit, iter: 300, threads: 1);
        Gen.Byte.Array[0, 512].Sample(bytes =>
        {
            SampleRequest r;
            try
            {
                r = SampleRequest.Parser.ParseFrom(bytes);
            }
            catch (InvalidProtocolBufferException)
            {
                return; // what Grpc.AspNetCore answers INTERNAL "failed to deserialize" for, before our code
            }
            Submit(r);
        }, iter: 300, threads: 1);
    }
}
