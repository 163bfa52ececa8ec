using TLoRA.Engine.Tests;
using TLoRA.Engine.Training;
using TLoRA.GpuService.Jobs;

namespace TLoRA.GpuService.Tests.Robustness;

/// <summary>Issue 14 item 10: at start the data folder is made to agree with the store, and what was fixed is said.</summary>
public class ReconcileTests
{
    [Fact]
    public void Unrecorded_unfinished_and_half_replaced_checkpoints_are_fixed_and_reported()
    {
        using var dir = new TempDir();
        string jobId;
        using (var sys = new JobSystem(dir.Path, start: false))
        {
            jobId = sys.Manager.SubmitTrain(JobSystem.TinyTrain()).JobId;
            var checkpoints = sys.Paths.CheckpointsDirectory(jobId);
            string Folder(string name)
            {
                var d = Path.Combine(checkpoints, name);
                Directory.CreateDirectory(d);
                File.WriteAllBytes(Path.Combine(d, AdapterTrainer.AdapterFileName), [1, 2, 3]);
                File.WriteAllText(Path.Combine(d, AdapterTrainer.StateFileName), "{}");
                return d;
            }
            var recorded = Folder("step-000002");
            sys.Store.AddArtifact($"{jobId}-s000002", "adapter", Path.Combine(recorded, AdapterTrainer.AdapterFileName), jobId);
            Folder("step-000004");                 // whole, but the service died before its event
            Folder("step-000006.tmp");             // being written
            var replaced = Folder("step-000008");  // being saved again: the old one was moved aside, the new not in yet
            sys.Store.AddArtifact($"{jobId}-s000008", "adapter", Path.Combine(replaced, AdapterTrainer.AdapterFileName), jobId);
            Directory.Move(replaced, replaced + AdapterTrainer.OldSuffix);
            sys.Store.AddArtifact($"{jobId}-s000010", "adapter", Path.Combine(checkpoints, "step-000010", AdapterTrainer.AdapterFileName), jobId);
        }
        using var restarted = new JobSystem(dir.Path, start: false);
        var left = Directory.EnumerateDirectories(restarted.Paths.CheckpointsDirectory(jobId)).Select(Path.GetFileName).Order();
        Assert.Equal(["step-000002", "step-000008"], left);
        Assert.Equal(4, restarted.Reconciled.Count);
        Assert.Contains(restarted.Reconciled, f => f.Contains("step-000004") && f.Contains("before recording"));
        Assert.Contains(restarted.Reconciled, f => f.Contains("step-000006.tmp"));
        Assert.Contains(restarted.Reconciled, f => f.Contains("restored step-000008"));
        Assert.Contains(restarted.Reconciled, f => f.Contains($"{jobId}-s000010") && f.Contains("gone"));
        Assert.Equal(Path.Combine(restarted.Paths.CheckpointsDirectory(jobId), "step-000008"), restarted.Paths.LatestCheckpoint(jobId));
        // a second start has nothing left to fix but the file that is really gone
        using var again = new JobSystem(dir.Path, start: false);
        Assert.Single(again.Reconciled);
    }
}
