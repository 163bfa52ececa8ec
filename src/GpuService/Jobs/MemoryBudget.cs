namespace TLoRA.GpuService.Jobs;

/// <summary>
/// A rough, deliberately simple model of the device memory a denoising batch needs, to refuse at submit what would
/// take the device past its budget (GpuService:MemoryBudgetGB) instead of failing, or swapping, at run time. The
/// dominant term is attention at the first attention level (latent / 2, i.e. one token per 16×16 pixels): a score
/// matrix of tokens² per image, in fp32, with a few live copies; plus activations linear in the pixels. Calibrated on
/// the measurement (2048², two images with guidance: about 7 GB on CPU). Kernels that never materialise the
/// scores (flash attention on GPUs) need far less: raise the budget there.
/// </summary>
public static class MemoryBudget
{
    private const double ScoreBytesPerTokenPair = 12;
    private const double ActivationBytesPerPixel = 256;

    /// <summary>Estimated bytes for denoising <paramref name="images"/> images of width × height at once.</summary>
    public static double Bytes(int width, int height, int images)
    {
        var tokens = (width / 16.0) * (height / 16.0);
        return images * (tokens * tokens * ScoreBytesPerTokenPair + (double)width * height * ActivationBytesPerPixel);
    }

    /// <summary>Images in one denoising batch: the images of a prompt, twice with classifier-free guidance.</summary>
    public static int Batch(int imagesPerPrompt, double guidance) => imagesPerPrompt * (guidance > 1 ? 2 : 1);

    /// <summary>The refusal when the batch is over <paramref name="budgetGb"/>, else null.</summary>
    public static string? Refusal(int width, int height, int batch, double budgetGb, string what)
    {
        var need = Bytes(width, height, batch) / 1e9;
        return need <= budgetGb ? null
            : $"{what} ({width}×{height}, {batch} images denoised together) needs about {need:0.#} GB, over this device's memory budget " +
              $"of {budgetGb:0.#} GB (GpuService:MemoryBudgetGB): use a smaller size or fewer images per prompt";
    }
}
