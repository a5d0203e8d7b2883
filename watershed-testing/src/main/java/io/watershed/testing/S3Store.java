package io.watershed.testing;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.BlobStoreContext;
import org.jclouds.blobstore.domain.PageSet;
import org.jclouds.blobstore.domain.StorageMetadata;
import org.jclouds.blobstore.domain.StorageType;
import org.jclouds.blobstore.options.ListContainerOptions;

/**
 * An S3 endpoint in the test JVM: S3Proxy 2.9.0 over jclouds' in-memory blob store, on loopback, requiring AWS
 * signatures (v2 or v4) with its own access key and secret, with one bucket. It can be stopped and started again on
 * the same port (the objects stay), to make S3 unreachable for a while.
 *
 * <p>S3Proxy 2.9 cannot check the CRC32 trailer the AWS SDK (2.30 and later) adds to every upload by default (it answers
 * "x-amz-content-sha256 does not match"), so starting one sets the SDK's {@code aws.requestChecksumCalculation} to
 * {@code when_required} for this JVM: checksums only where S3 requires them, as SDKs before 2.30 did.
 */
public final class S3Store implements AutoCloseable {
    private final BlobStoreContext context;
    private final String bucket;
    private final String accessKey = "AKIA" + UUID.randomUUID().toString().replace("-", "").substring(0, 16).toUpperCase();
    private final String secretKey = "s3-secret-" + UUID.randomUUID().toString().replace("-", "");
    private S3Proxy proxy;
    private int port;

    private S3Store(String bucket) {
        System.setProperty("aws.requestChecksumCalculation", "when_required");
        this.bucket = bucket;
        this.context = ContextBuilder.newBuilder("transient").credentials("identity", "credential").overrides(new Properties())
                .build(BlobStoreContext.class);
        context.getBlobStore().createContainerInLocation(null, bucket);
    }

    /** Starts an S3 endpoint on a free loopback port with an empty bucket {@code bucket} (3 to 63 characters, as on S3). */
    public static S3Store start(String bucket) {
        S3Store store = new S3Store(bucket);
        try {
            store.start();
            return store;
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /** Starts the endpoint again after {@link #stop()}, on the port it had; the objects are still there. */
    public synchronized void start() {
        if (proxy != null) {
            return;
        }
        S3Proxy started = S3Proxy.builder()
                .blobStore(context.getBlobStore())
                .endpoint(URI.create("http://127.0.0.1:" + port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, accessKey, secretKey)
                .ignoreUnknownHeaders(true) // the SDK checksums a multi-object delete with x-amz-checksum-crc32
                .build();
        try {
            started.start();
            Await.until("S3Proxy to start", java.time.Duration.ofSeconds(30), () -> "STARTED".equals(started.getState()));
        } catch (Exception e) {
            throw new IllegalStateException("Cannot start S3Proxy on 127.0.0.1:" + port, e);
        }
        port = started.getPort();
        proxy = started;
    }

    /** Stops answering (connections are refused) until {@link #start()}. */
    public synchronized void stop() {
        if (proxy == null) {
            return;
        }
        try {
            proxy.stop();
        } catch (Exception e) {
            throw new IllegalStateException("Cannot stop S3Proxy", e);
        }
        proxy = null;
    }

    public String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    public String bucket() {
        return bucket;
    }

    public String accessKey() {
        return accessKey;
    }

    public String secretKey() {
        return secretKey;
    }

    /** The keys of every object in the bucket under {@code prefix} (no leading slash), read from the store itself. */
    public List<String> keys(String prefix) {
        BlobStore blobs = context.getBlobStore();
        List<String> keys = new ArrayList<>();
        ListContainerOptions options = ListContainerOptions.Builder.prefix(prefix).recursive();
        for (String marker = null;;) {
            PageSet<? extends StorageMetadata> page = blobs.list(bucket, marker == null ? options : options.afterMarker(marker));
            for (StorageMetadata object : page) {
                if (object.getType() == StorageType.BLOB) {
                    keys.add(object.getName());
                }
            }
            marker = page.getNextMarker();
            if (marker == null) {
                return keys;
            }
        }
    }

    /** Writes an object directly into the store, e.g. a file no table references. */
    public void put(String key, byte[] content) {
        BlobStore blobs = context.getBlobStore();
        blobs.putBlob(bucket, blobs.blobBuilder(key).payload(content).build());
    }

    @Override
    public void close() {
        try {
            stop();
        } finally {
            context.close();
        }
    }
}
