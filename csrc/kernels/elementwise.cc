// The parts of ADD and MUL that are not per-element math: the broadcast
// layout (elementwise.h) and the prepare-time tensor checks.
#include "kernels/elementwise.h"

#include <cstring>

#include "kernels/kernels.h"

namespace tinyops {

// ---------------------------------------------------------------------------
// Broadcast layout

namespace {

// Contiguous strides of `s` padded to `rank` dims (leading 1s), with 0 for
// every dimension of extent 1 (never advanced, or broadcast).
void padded_strides(const Shape& s, int rank, int32_t* dims, int32_t* strides) {
  int64_t acc = 1;
  for (int i = rank - 1; i >= 0; --i) {
    const int32_t d = s.dim_from_back(rank - 1 - i);
    dims[i] = d;
    strides[i] = d == 1 ? 0 : static_cast<int32_t>(acc);
    acc *= d;
  }
}

}  // namespace

const char* binary_layout_init(const Shape& a, const Shape& b, const Shape& out, BinaryLayout* l,
                               int32_t* bad_dim) {
  std::memset(l, 0, sizeof(*l));
  *bad_dim = 0;
  int D = out.rank;
  if (a.rank > D) D = a.rank;
  if (b.rank > D) D = b.rank;
  if (D > kMaxRank || a.rank < 0 || b.rank < 0 || out.rank < 0) return "rank exceeds 6";
  bool same = true;
  for (int i = 0; i < D; ++i) {
    const int32_t ad = a.dim_from_back(i), bd = b.dim_from_back(i), od = out.dim_from_back(i);
    *bad_dim = i + 1;
    if (ad < 0 || bd < 0 || od < 0) return "negative dimension";
    int32_t expect;
    if (ad == bd) {
      expect = ad;
    } else if (ad == 1) {
      expect = bd;
    } else if (bd == 1) {
      expect = ad;
    } else {
      return "input shapes do not broadcast";
    }
    if (od != expect) return "output shape is not the broadcast of the input shapes";
    if (ad != bd) same = false;
  }
  *bad_dim = 0;
  l->num_elements = out.num_elements();
  if (same) {
    l->kind = kBinarySameShape;
  } else if (a.num_elements() == 1) {
    l->kind = kBinaryScalarA;
  } else if (b.num_elements() == 1) {
    l->kind = kBinaryScalarB;
  } else {
    l->kind = kBinaryBroadcast;
  }

  // Row geometry: the output's dims padded to rank >= 2.
  const int G = D < 2 ? 2 : D;
  BinaryGeometry& g = l->rows;
  g.rank = G;
  int32_t a_dims[kMaxRank], b_dims[kMaxRank], o_strides[kMaxRank];
  padded_strides(out, G, g.dims, o_strides);
  padded_strides(a, G, a_dims, g.a_strides);
  padded_strides(b, G, b_dims, g.b_strides);
  l->a_row_elems = a_dims[G - 2] * a_dims[G - 1];
  l->b_row_elems = b_dims[G - 2] * b_dims[G - 1];

  // Fast geometry: drop extent-1 output dims and merge neighbours whose
  // broadcast pattern (which input, if any, is constant along it) matches.
  int32_t f_dims[kMaxRank], f_as[kMaxRank], f_bs[kMaxRank];
  int n = 0;
  int last_pattern = -1;
  int64_t a_acc = 1, b_acc = 1;
  for (int i = 0; i < D; ++i) {  // from the innermost dim outwards
    const int32_t ad = a.dim_from_back(i), bd = b.dim_from_back(i), od = out.dim_from_back(i);
    if (od == 1) continue;
    const int pattern = (ad == 1 ? 1 : 0) | (bd == 1 ? 2 : 0);
    if (pattern == last_pattern) {
      f_dims[n - 1] *= od;
    } else {
      f_dims[n] = od;
      f_as[n] = ad == 1 ? 0 : static_cast<int32_t>(a_acc);
      f_bs[n] = bd == 1 ? 0 : static_cast<int32_t>(b_acc);
      ++n;
      last_pattern = pattern;
    }
    a_acc *= ad;
    b_acc *= bd;
  }
  BinaryGeometry& f = l->fast;
  const int F = n < 2 ? 2 : n;
  f.rank = F;
  for (int i = 0; i < F; ++i) {
    const int src = F - 1 - i;  // outermost first
    if (src < n) {
      f.dims[i] = f_dims[src];
      f.a_strides[i] = f_as[src];
      f.b_strides[i] = f_bs[src];
    } else {
      f.dims[i] = 1;
      f.a_strides[i] = 0;
      f.b_strides[i] = 0;
    }
  }
  return nullptr;
}

void binary_input_rows(const BinaryLayout& l, int which, int64_t row_begin, int64_t row_end,
                       int64_t* first, int64_t* last) {
  const int32_t row_elems = which == 0 ? l.a_row_elems : l.b_row_elems;
  if (row_end <= row_begin || row_elems <= 0) {
    *first = *last = 0;
    return;
  }
  const BinaryGeometry& g = l.rows;
  const int32_t* strides = which == 0 ? g.a_strides : g.b_strides;
  const int outer = g.rank - 2;
  // The row map is not monotonic in general (an input broadcast along N but
  // not H revisits its rows), so take the min/max over the band.
  int32_t idx[kMaxRank] = {0};
  int64_t rem = row_begin, off = 0;
  for (int k = outer - 1; k >= 0; --k) {
    idx[k] = static_cast<int32_t>(rem % g.dims[k]);
    rem /= g.dims[k];
    off += static_cast<int64_t>(idx[k]) * strides[k];
  }
  int64_t lo = off, hi = off;
  for (int64_t r = row_begin + 1; r < row_end; ++r) {
    for (int k = outer - 1; k >= 0; --k) {
      off += strides[k];
      if (++idx[k] < g.dims[k]) break;
      off -= static_cast<int64_t>(strides[k]) * g.dims[k];
      idx[k] = 0;
    }
    lo = off < lo ? off : lo;
    hi = off > hi ? off : hi;
  }
  *first = lo / row_elems;
  *last = hi / row_elems + 1;
}

Status binary_layout_fail(PrepareContext& ctx, const char* op, BinaryLayout* l) {
  const Shape& a = ctx.input(0)->shape;
  const Shape& b = ctx.input(1)->shape;
  const Shape& o = ctx.output(0)->shape;
  int32_t dim = 0;
  const char* err = binary_layout_init(a, b, o, l, &dim);
  if (err == nullptr) return Status::kOk;
  if (dim == 0) {
    return ctx.fail(Status::kInvalidModel, "%s: %s (ranks %d, %d -> %d)", op, err,
                    static_cast<int>(a.rank), static_cast<int>(b.rank), static_cast<int>(o.rank));
  }
  return ctx.fail(Status::kInvalidModel,
                  "%s: %s: dimension -%d is %d in input 1, %d in input 2, %d in the output", op,
                  err, static_cast<int>(dim), static_cast<int>(a.dim_from_back(dim - 1)),
                  static_cast<int>(b.dim_from_back(dim - 1)),
                  static_cast<int>(o.dim_from_back(dim - 1)));
}

// ---------------------------------------------------------------------------
// Prepare checks

Status binary_check_tensors(PrepareContext& ctx, const char* op) {
  Status s = expect_io_counts(ctx, 2, 2, 1);
  if (s != Status::kOk) return s;
  const char* roles[3] = {"input 1", "input 2", "output"};
  const TensorDesc* t[3] = {ctx.input(0), ctx.input(1), ctx.output(0)};
  for (int i = 0; i < 3; ++i) {
    if (t[i] == nullptr) return ctx.fail(Status::kInvalidModel, "%s: %s is missing", op, roles[i]);
    s = expect_int8_quantized(ctx, op, t[i], roles[i]);  // int16 etc.: unsupported
    if (s != Status::kOk) return s;
  }
  const int32_t act = ctx.options ? ctx.options->activation : kActNone;
  if (act != kActNone && act != kActRelu && act != kActRelu6 && act != kActReluN1To1) {
    return ctx.fail(Status::kUnsupported, "%s: fused activation %d is unsupported", op,
                    static_cast<int>(act));
  }
  return Status::kOk;
}

}  // namespace tinyops
