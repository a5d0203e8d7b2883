package io.watershed.access;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Request rate limits per token (Bucket4j token buckets): a token may send its rate per second on average and a burst of
 * twice that; beyond, requests are refused with 429 and the time until the next one is allowed.
 */
public final class RateLimits {
    private record Limited(int rate, Bucket bucket) {}

    private final Map<String, Limited> buckets = new ConcurrentHashMap<>();

    /** Takes one request from the principal's bucket; throws RATE_LIMITED when it is empty. */
    public void acquire(Principal principal) {
        int rate = Math.max(1, principal.ratePerSecond());
        Limited limited = buckets.compute(principal.tokenId(), (id, current) -> current != null && current.rate() == rate ? current
                : new Limited(rate, Bucket.builder().addLimit(Bandwidth.builder().capacity(2L * rate)
                        .refillGreedy(rate, Duration.ofSeconds(1)).build()).build()));
        ConsumptionProbe probe = limited.bucket().tryConsumeAndReturnRemaining(1);
        if (!probe.isConsumed()) {
            Duration wait = Duration.ofNanos(probe.getNanosToWaitForRefill());
            throw new WatershedException(ErrorCode.RATE_LIMITED, "Cannot serve more than " + rate + " requests per second for token "
                    + principal.tokenId() + "; slow down, or ask an admin for a token with a higher --rate", Map.of("limit_per_second", rate),
                    wait.isZero() ? Duration.ofSeconds(1) : wait, null);
        }
    }
}
