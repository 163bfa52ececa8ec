namespace TLoRA.WebUI.State;

/// <summary>
/// Time left of a training job, previews included: the remaining steps at the measured time per step (training only),
/// plus the checkpoints still to come — one every <c>checkpointInterval</c> steps and one at the last step — at the
/// measured time their previews take, plus what is left of a checkpoint being rendered now.
/// </summary>
public static class Eta
{
    /// <summary>Checkpoints saved after <paramref name="step"/> up to <paramref name="total"/>: at every multiple of the
    /// interval and at the last step (once, if it is a multiple). Interval 0: only the last step's.</summary>
    public static int CheckpointsAfter(int step, int total, int interval)
    {
        if (step >= total) return 0;
        if (interval <= 0) return 1;
        var multiples = total / interval - step / interval;
        return multiples + (total % interval == 0 ? 0 : 1);
    }

    /// <param name="secondsPerStep">training time per step, previews excluded</param>
    /// <param name="previewSeconds">time a checkpoint's previews take (null: not measured yet, counted as 0)</param>
    /// <param name="renderingFraction">how far the previews being rendered now are (null: none are)</param>
    public static double Seconds(int step, int total, double secondsPerStep, int interval, double? previewSeconds, double? renderingFraction)
    {
        var preview = previewSeconds ?? 0;
        var left = Math.Max(0, total - step) * secondsPerStep + CheckpointsAfter(step, total, interval) * preview;
        if (renderingFraction is { } f) left += (1 - Math.Clamp(f, 0, 1)) * preview;
        return left;
    }
}
