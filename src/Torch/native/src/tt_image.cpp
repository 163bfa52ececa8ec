// Image codecs: PNG (libpng's simplified API) and JPEG (libjpeg-turbo) to and from uint8 HWC tensors.
// Decoding always yields RGB: grayscale is expanded, 16-bit PNG samples are reduced to 8 bits, and transparent pixels
// are composited over white (the alpha channel is dropped). Errors follow the shim's convention: a message, no abort.
#include "tt_common.h"
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

namespace {

// Largest image accepted (each side and in total), so a forged header cannot ask for gigabytes.
constexpr int64_t kMaxSide = 65535;
constexpr int64_t kMaxPixels = int64_t(1) << 28;

void check_size(const char* kind, int64_t w, int64_t h) {
  if (w < 1 || h < 1 || w > kMaxSide || h > kMaxSide || w * h > kMaxPixels)
    throw std::runtime_error(std::string("unsupported ") + kind + " size " + std::to_string(w) + "x" +
                             std::to_string(h) + " (at most 65535 a side and 2^28 pixels)");
}

at::Tensor decode_png(const uint8_t* data, size_t n) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, data, n))
    throw std::runtime_error(std::string("corrupt PNG: ") + image.message);
  at::Tensor out;
  try {
    check_size("PNG", image.width, image.height);
    out = at::empty({int64_t(image.height), int64_t(image.width), 3}, at::kByte);
  } catch (...) {
    png_image_free(&image);
    throw;
  }
  // 16-bit files without gAMA/sRGB are sRGB-encoded in practice; libpng would otherwise take them as linear.
  image.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
  image.format = PNG_FORMAT_RGB;
  const png_color white = {255, 255, 255};
  if (!png_image_finish_read(&image, &white, out.data_ptr(), 0, nullptr))
    throw std::runtime_error(std::string("corrupt PNG: ") + image.message);  // finish_read frees on failure
  return out;
}

// ---- JPEG: libjpeg reports fatal errors through error_exit, which must not return; we longjmp back to the
// function that called setjmp. Those functions hold only trivially destructible locals (no C++ object is skipped).
struct JpegError {
  jpeg_error_mgr pub;
  jmp_buf jump;
  bool saw_eof;  // the data ran out (libjpeg then pretends an EOI marker follows)
  char message[JMSG_LENGTH_MAX + 80];
};

void jpeg_fail(j_common_ptr c) {
  auto* e = reinterpret_cast<JpegError*>(c->err);
  char text[JMSG_LENGTH_MAX];
  (*c->err->format_message)(c, text);
  if (e->saw_eof)
    std::snprintf(e->message, sizeof e->message, "truncated JPEG: the data ends before the image is complete (%s)", text);
  else
    std::snprintf(e->message, sizeof e->message, "corrupt JPEG: %s", text);
  std::longjmp(e->jump, 1);
}
// Warnings are never printed. Running out of data is only noted: a file missing just its final EOI marker decodes
// completely. Entropy-coded data that stops early (a cut file, a damaged segment) fails the decode instead of
// yielding a half-grey image; other warnings (extraneous bytes, odd markers) are tolerated, as other decoders do.
void jpeg_on_message(j_common_ptr c, int level) {
  if (level < 0) {
    auto* e = reinterpret_cast<JpegError*>(c->err);
    if (c->err->msg_code == JWRN_JPEG_EOF) e->saw_eof = true;
    if (c->err->msg_code == JWRN_HIT_MARKER) jpeg_fail(c);
    c->err->num_warnings++;
  }
}
void jpeg_silent(j_common_ptr) {}

struct JpegState {
  jpeg_decompress_struct cinfo;
  JpegError err;
  bool progressive;
};

// Phase 1: header and decompression setup. Returns false with err.message set (cinfo destroyed) on failure.
bool jpeg_begin(JpegState* s, const uint8_t* data, size_t n) {
  s->cinfo.err = jpeg_std_error(&s->err.pub);
  s->err.pub.error_exit = jpeg_fail;
  s->err.pub.emit_message = jpeg_on_message;
  s->err.pub.output_message = jpeg_silent;
  if (setjmp(s->err.jump)) {
    jpeg_destroy_decompress(&s->cinfo);
    return false;
  }
  jpeg_create_decompress(&s->cinfo);
  jpeg_mem_src(&s->cinfo, data, static_cast<unsigned long>(n));
  jpeg_read_header(&s->cinfo, TRUE);
  const bool cmyk = s->cinfo.jpeg_color_space == JCS_CMYK || s->cinfo.jpeg_color_space == JCS_YCCK;
  s->cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(&s->cinfo);
  return true;
}

// Phase 2: scanlines into a buffer of output_height rows of output_width * output_components bytes.
bool jpeg_rows(JpegState* s, uint8_t* dst) {
  if (setjmp(s->err.jump)) {
    jpeg_destroy_decompress(&s->cinfo);
    return false;
  }
  const size_t stride = size_t(s->cinfo.output_width) * s->cinfo.output_components;
  while (s->cinfo.output_scanline < s->cinfo.output_height) {
    JSAMPROW row = dst + size_t(s->cinfo.output_scanline) * stride;
    jpeg_read_scanlines(&s->cinfo, &row, 1);
  }
  jpeg_finish_decompress(&s->cinfo);
  s->progressive = s->cinfo.progressive_mode;
  jpeg_destroy_decompress(&s->cinfo);
  return true;
}

at::Tensor decode_jpeg(const uint8_t* data, size_t n) {
  JpegState s;
  std::memset(&s, 0, sizeof s);
  if (!jpeg_begin(&s, data, n)) throw std::runtime_error(s.err.message);
  const int64_t w = s.cinfo.output_width, h = s.cinfo.output_height, c = s.cinfo.output_components;
  at::Tensor out;
  try {
    check_size("JPEG", w, h);
    out = at::empty({h, w, c}, at::kByte);
  } catch (...) {
    jpeg_destroy_decompress(&s.cinfo);
    throw;
  }
  if (!jpeg_rows(&s, out.data_ptr<uint8_t>())) throw std::runtime_error(s.err.message);
  // A progressive file cut between two scans decodes without a data error, only blurrier: refuse it too.
  if (s.err.saw_eof && s.progressive)
    throw std::runtime_error("truncated JPEG: a progressive image whose data ends before its last scan (or EOI marker)");
  if (c == 4) {
    // CMYK as Adobe applications write it (inverted): R = C·K/255 etc. No colour management.
    at::Tensor f = out.to(at::kFloat);
    at::Tensor k = f.narrow(2, 3, 1);
    out = (f.narrow(2, 0, 3) * k / 255.0).round().clamp(0, 255).to(at::kByte).contiguous();
  }
  return out;
}

bool is_png(const uint8_t* d, size_t n) { return n >= 8 && std::memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0; }
bool is_jpeg(const uint8_t* d, size_t n) { return n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF; }

}  // namespace

// PNG or JPEG bytes (recognised by their signature) to a uint8 [H, W, 3] RGB tensor.
TT_API tt_tensor tt_decode_image(const uint8_t* data, int64_t nbytes) {
  TT_TRY
    TORCH_CHECK(data != nullptr || nbytes == 0, "decode_image: null data");
    const size_t n = static_cast<size_t>(nbytes < 0 ? 0 : nbytes);
    if (is_png(data, n)) return tt::wrap(decode_png(data, n));
    if (is_jpeg(data, n)) return tt::wrap(decode_jpeg(data, n));
    TORCH_CHECK(false, "not a PNG or JPEG image (", nbytes, " bytes; no PNG or JPEG signature)");
  TT_CATCH(nullptr)
}

// A uint8 [H, W, C] tensor (C = 1 gray, 3 RGB, 4 RGBA; any device or layout) to PNG bytes, as a uint8 [N] tensor.
TT_API tt_tensor tt_encode_png(tt_tensor t) {
  TT_TRY
    TORCH_CHECK(t->scalar_type() == at::kByte, "encode_png needs a uint8 tensor, got ", t->scalar_type());
    TORCH_CHECK(t->dim() == 3, "encode_png needs an [H, W, C] tensor, got ", t->dim(), " dimensions");
    const int64_t h = t->size(0), w = t->size(1), c = t->size(2);
    TORCH_CHECK(c == 1 || c == 3 || c == 4, "encode_png needs 1, 3 or 4 channels (last dimension), got ", c);
    check_size("PNG", w, h);
    at::Tensor src = t->detach().to(at::kCPU).contiguous();
    png_image image;
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = static_cast<png_uint_32>(w);
    image.height = static_cast<png_uint_32>(h);
    image.format = c == 4 ? PNG_FORMAT_RGBA : c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    png_alloc_size_t size = PNG_IMAGE_PNG_SIZE_MAX(image);
    at::Tensor out = at::empty({static_cast<int64_t>(size)}, at::kByte);
    if (!png_image_write_to_memory(&image, out.data_ptr(), &size, 0, src.data_ptr(), 0, nullptr))
      throw std::runtime_error(std::string("PNG encoding failed: ") + image.message);
    return tt::wrap(out.narrow(0, 0, static_cast<int64_t>(size)).clone());
  TT_CATCH(nullptr)
}
