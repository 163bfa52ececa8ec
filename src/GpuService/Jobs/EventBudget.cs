namespace TLoRA.GpuService.Jobs;

/// <summary>
/// How much image data one event may carry inline: thumbnails (at most <see cref="ThumbnailSide"/> px on a side)
/// until <see cref="ThumbnailBytes"/> are used; further previews carry only their image id (DownloadImage fetches
/// every image whole). Keeps every event small whatever the number of prompts and images per prompt.
/// </summary>
public sealed class EventBudget
{
    public const int ThumbnailSide = 256;
    public const int ThumbnailBytes = 256 * 1024;

    private int used;

    /// <summary>A thumbnail of <paramref name="png"/> if it fits in what is left of the budget, else empty.</summary>
    public byte[] Thumbnail(byte[] png)
    {
        if (used >= ThumbnailBytes) return [];
        var thumbnail = Thumbnails.Make(png, ThumbnailSide);
        if (used + thumbnail.Length > ThumbnailBytes)
        {
            used = ThumbnailBytes;
            return [];
        }
        used += thumbnail.Length;
        return thumbnail;
    }
}
