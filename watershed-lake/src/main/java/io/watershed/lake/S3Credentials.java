package io.watershed.lake;

import io.watershed.spi.InProcessHandles;
import java.util.Map;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;

/**
 * The lake's S3 keys, handed to every S3FileIO of this JVM (the lake's, and those Flink's catalog opens for pipelines
 * and model builds) by a handle instead of by value: the catalog properties name this class and a random handle
 * ({@code client.credentials-provider.handle}), so the secret key never appears in catalog properties, Flink's
 * {@code CREATE CATALOG} statements, table options or the logs that print them.
 */
public final class S3Credentials implements AwsCredentialsProvider {
    static final String HANDLE = "handle";
    private static final InProcessHandles<AwsCredentials> REGISTERED = new InProcessHandles<>();

    private final String handle;

    private S3Credentials(String handle) {
        this.handle = handle;
    }

    /** Keeps the keys in this JVM; returns the handle that {@link #create(Map)} finds them by. */
    static String register(String accessKeyId, String secretAccessKey) {
        return REGISTERED.register(AwsBasicCredentials.create(accessKeyId, secretAccessKey));
    }

    static void unregister(String handle) {
        REGISTERED.unregister(handle);
    }

    /** Called by Iceberg's AwsClientProperties with the {@code client.credentials-provider.*} properties. */
    public static S3Credentials create(Map<String, String> properties) {
        String handle = properties.get(HANDLE);
        if (handle == null) {
            throw new IllegalArgumentException("Cannot find the lake's S3 credentials: client.credentials-provider." + HANDLE
                    + " is not set");
        }
        return new S3Credentials(handle);
    }

    @Override
    public AwsCredentials resolveCredentials() {
        return REGISTERED.find(handle).orElseThrow(() -> new IllegalStateException("Cannot find the lake's S3 credentials: "
                + "the lake that registered them is closed"));
    }

    @Override
    public String toString() {
        return "S3Credentials[lake.s3_access_key_id]";
    }
}
