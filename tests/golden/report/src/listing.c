/* listing.c: the source that test-pprof-write's "listing" profile
 * points into (cprof list's golden test). Line numbers matter. */

/* sum starts on line 5 */
static long sum(const long *v, int n)
{
    long s = 0;
    for (int i = 0; i < n; i++)
        s += v[i] * v[i];
    return s;
}

static void scale(long *v, int n, long k)
{
    for (int i = 0; i < n; i++) v[i] *= k;
}

static long values[1 << 20];

int main(void)
{
    long total = 0;
    for (int round = 0; round < 100; round++) {
        total += sum(values, 1 << 20);
        if (round % 10 == 0)
            scale(values, 1 << 20, 3);
    }
    return total == 42;
}
