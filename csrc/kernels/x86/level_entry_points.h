// The entry points every x86 SIMD level defines (signatures as in Kernels,
// dispatch.h), declared once for all levels: isa.h includes this file inside
// each level's namespace, hence no include guard and no includes of its own.
// Private to csrc/kernels/x86.
void requant_rows(const int32_t* acc, int32_t acc_stride, int32_t rows, int32_t n,
                  const int32_t* bias, const conv_detail::Requant& rq, int32_t c0,
                  int8_t* const* outs, int32_t out_off);
uint32_t gemm_pack_bytes(int32_t K, int32_t nch);
void gemm_pack(const int8_t* w, int32_t K, int32_t nch, int8_t* dst);
void gemm_packed(const int8_t* const* xs, int32_t npix, const int8_t* packed, int32_t K,
                 int32_t row0, int32_t nch, const int32_t* bias_eff, const conv_detail::Requant& rq,
                 int32_t c0, int8_t* const* outs, int32_t* acc);
void dw_row(const DepthwiseConv2DParams& p, const int8_t* const* rows, const int8_t* filter,
            const int32_t* bias, int32_t c0, int32_t n, const int32_t* init, int32_t xa, int32_t xb,
            const conv_detail::Requant& rq, int8_t* dst_row, int32_t pixel_stride);
void add(const ew::AddMath& op, const int8_t* a, const int8_t* b, int8_t* out, int64_t n,
         BinaryForm form);
void mul(const ew::MulMath& op, const int8_t* a, const int8_t* b, int8_t* out, int64_t n,
         BinaryForm form);
