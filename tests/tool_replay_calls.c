/* Makes one call of each float32 family (and one call twice), for
 * tests/test_tool_replay.sh to record with NABLA_VERBOSE=1 and replay. */
#include <stdio.h>

#include <nabla/nabla.h>

static float a[512], b[512], c[512];

int main(void) {
    for (int i = 0; i < 512; i++) a[i] = b[i] = (float)(i % 7) - 3.0f;
    int bad = 0;
    for (int i = 0; i < 2; i++)
        bad |= nb_sgemm(0, 1, 5, 7, 3, 0.5f, a, 3, b, 3, 0.0f, c, 7) != NB_OK;
    const nb_conv2d_desc d = {.n = 1, .c = 4, .h = 6, .w = 5, .k = 3, .r = 3, .s = 3, .stride_h = 2,
                              .stride_w = 1, .pad_h = 1, .pad_w = 0, .dilation_h = 1, .dilation_w = 1,
                              .groups = 1};
    bad |= nb_sconv2d_forward(&d, a, b, a, c) != NB_OK;
    const int64_t rshape[] = {6, 5}, rxs[] = {5, 1}, rys[] = {5, 1};
    bad |= nb_sreduce(NB_REDUCE_SUM, 2, rshape, a, rxs, 1, c, rys) != NB_OK;
    /* src 2x3x4 dense, read as its permute(2, 0, 1) */
    const int64_t cshape[] = {4, 2, 3}, css[] = {1, 12, 4}, cds[] = {6, 3, 1};
    bad |= nb_copy_strided(sizeof(float), 3, cshape, a, css, c, cds) != NB_OK;
    bad |= nb_sunary(NB_UNARY_EXP, 100, a, c) != NB_OK;
    bad |= nb_ssoftmax(1, 3, 10, a, 10, c, 10) != NB_OK;
    if (bad) fprintf(stderr, "a call failed: %s\n", nb_last_error());
    return bad;
}
