using TLoRA.Torch.Interop;

namespace TLoRA.Torch;

public static partial class torch
{
    /// <summary>Image codecs in the shim (libpng, libjpeg-turbo), as torchvision.io's decode_image / encode_png.</summary>
    public static class io
    {
        /// <summary>
        /// Decodes PNG or JPEG bytes (recognised by their signature) to a CPU uint8 tensor [H, W, 3], RGB. Grayscale
        /// is expanded to RGB, 16-bit PNG samples are reduced to 8 bits (taken as sRGB-encoded when the file has no
        /// gamma information), and the alpha channel is removed by compositing over white, so fully transparent
        /// pixels become (255, 255, 255). A PNG gAMA chunk is honoured (converted to sRGB); ICC profiles and JPEG EXIF
        /// orientation are not applied. CMYK JPEGs are converted as Adobe (inverted) CMYK.
        /// </summary>
        /// <exception cref="TorchException">"not a PNG or JPEG image", "corrupt PNG: …", "corrupt JPEG: …",
        /// "truncated JPEG: …", or an unsupported size.</exception>
        public static unsafe Tensor decode_image(ReadOnlySpan<byte> data)
        {
            fixed (byte* p = data) return Tensor.Wrap(Native.tt_decode_image(p, data.Length));
        }

        /// <summary>Encodes a uint8 tensor [H, W, C] (C = 1 gray, 3 RGB or 4 RGBA; any device) as PNG bytes.</summary>
        /// <exception cref="TorchException">Wrong dtype, rank, channel count or size.</exception>
        public static byte[] encode_png(Tensor image)
        {
            ArgumentNullException.ThrowIfNull(image);
            using var bytes = Tensor.Wrap(Native.tt_encode_png(image));
            return bytes.ToBytes();
        }
    }
}
