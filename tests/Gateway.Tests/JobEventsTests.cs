using Google.Protobuf;
using TLoRA.Contracts.V1;
using TLoRA.Gateway.Api;

namespace TLoRA.Gateway.Tests;

/// <summary>The one switch from tlora.v1.JobEvent to the gateway's shapes knows every kind the proto has.</summary>
public sealed class JobEventsTests
{
    public static TheoryData<string> Kinds() => [.. JobEvent.Descriptor.Oneofs.Single(o => o.Name == "event").Fields.Select(f => f.Name)];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_event_kind_has_a_type_and_data_of_its_own(string kind)
    {
        var field = JobEvent.Descriptor.FindFieldByName(kind);
        var e = new JobEvent { JobId = "gpu-1.train-1", Sequence = 3 };
        field.Accessor.SetValue(e, field.MessageType.Parser.ParseFrom(ByteString.Empty));
        var dto = JobEvents.ToDto(e);
        // the type is the oneof case's name in camelCase
        var expected = string.Concat(kind.Split('_').Select((w, i) => i == 0 ? w : char.ToUpperInvariant(w[0]) + w[1..]));
        Assert.Equal(expected, dto.Type);
        Assert.False(dto.Data is FailedData && kind != "failed", $"{kind} is mapped as an unknown kind");
    }

    [Fact]
    public void Preparing_names_its_stage_and_its_progress()
    {
        var loading = JobEvents.ToDto(new JobEvent { Preparing = new Preparing { Stage = PreparingStage.LoadingModel } });
        Assert.Equal(JobEventTypes.Preparing, loading.Type);
        Assert.False(loading.Final);
        Assert.Equal(new PreparingData(PreparingStages.LoadingModel, 0, 0), loading.Data);
        var initialising = JobEvents.ToDto(new JobEvent { Preparing = new Preparing { Stage = PreparingStage.InitialisingAdapter, Done = 17, Total = 560 } });
        Assert.Equal(new PreparingData(PreparingStages.InitialisingAdapter, 17, 560), initialising.Data);
        Assert.Null(((PreparingData)JobEvents.ToDto(new JobEvent { Preparing = new Preparing() }).Data).Stage);
    }
}
