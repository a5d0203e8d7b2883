package io.watershed.stream;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.connector.source.InputFormatProvider;
import org.apache.flink.table.connector.source.LookupTableSource;
import org.apache.flink.table.connector.source.ScanTableSource;
import org.apache.flink.table.connector.source.lookup.FullCachingLookupProvider;
import org.apache.flink.table.connector.source.lookup.cache.trigger.PeriodicCacheReloadTrigger;
import org.apache.flink.table.factories.DynamicTableSourceFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.flink.CatalogLoader;
import org.apache.iceberg.flink.TableLoader;
import org.apache.iceberg.flink.source.FlinkInputFormat;
import org.apache.iceberg.flink.source.FlinkSource;

/**
 * The {@code watershed-lake-lookup} connector: a lake table as the dimension side of a lookup join
 * ({@code JOIN marts.products FOR SYSTEM_TIME AS OF o.proc_time}). Iceberg's own Flink source cannot be
 * looked up; this one keeps the table's current snapshot in Flink's full lookup cache, read with
 * Iceberg's input format, and reads it again every {@code reload-interval}, so new commits show up
 * in the join within that time. Read as a plain table it is a bounded scan of the current snapshot.
 */
public final class LakeLookupTableFactory implements DynamicTableSourceFactory {
    static final String IDENTIFIER = "watershed-lake-lookup";
    static final ConfigOption<String> TABLE = ConfigOptions.key("table").stringType().noDefaultValue()
            .withDescription("namespace.table in the lake");
    static final ConfigOption<String> CATALOG_NAME = ConfigOptions.key("catalog-name").stringType().noDefaultValue();
    static final ConfigOption<Duration> RELOAD_INTERVAL = ConfigOptions.key("reload-interval").durationType()
            .defaultValue(Duration.ofSeconds(10)).withDescription("how often the lookup cache reads the table's snapshot again");
    /** Prefix of the Iceberg catalog's properties (catalog-impl, uri, warehouse...). */
    static final String CATALOG_PREFIX = "catalog.";

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of(TABLE, CATALOG_NAME);
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return Set.of(RELOAD_INTERVAL);
    }

    @Override
    public DynamicTableSource createDynamicTableSource(Context context) {
        FactoryUtil.TableFactoryHelper helper = FactoryUtil.createTableFactoryHelper(this, context);
        helper.validateExcept(CATALOG_PREFIX);
        Map<String, String> catalog = new HashMap<>();
        context.getCatalogTable().getOptions().forEach((k, v) -> {
            if (k.startsWith(CATALOG_PREFIX)) {
                catalog.put(k.substring(CATALOG_PREFIX.length()), v);
            }
        });
        String impl = catalog.remove("catalog-impl");
        CatalogLoader catalogLoader = CatalogLoader.custom(helper.getOptions().get(CATALOG_NAME), catalog,
                new org.apache.hadoop.conf.Configuration(), impl);
        TableLoader loader = TableLoader.fromCatalog(catalogLoader, TableIdentifier.parse(helper.getOptions().get(TABLE)));
        return new Source(loader, helper.getOptions().get(TABLE), helper.getOptions().get(RELOAD_INTERVAL));
    }

    private record Source(TableLoader loader, String table, Duration reloadInterval) implements LookupTableSource, ScanTableSource {
        /** Iceberg's input format over the table's current snapshot at each read (the cache's loads included). */
        private FlinkInputFormat format() {
            return FlinkSource.forRowData().tableLoader(loader.clone()).buildFormat();
        }

        @Override
        public LookupRuntimeProvider getLookupRuntimeProvider(LookupContext context) {
            return FullCachingLookupProvider.of(InputFormatProvider.of(format()),
                    new PeriodicCacheReloadTrigger(reloadInterval, PeriodicCacheReloadTrigger.ScheduleMode.FIXED_DELAY));
        }

        @Override
        public ChangelogMode getChangelogMode() {
            return ChangelogMode.insertOnly();
        }

        @Override
        public ScanRuntimeProvider getScanRuntimeProvider(ScanContext context) {
            return InputFormatProvider.of(format());
        }

        @Override
        public DynamicTableSource copy() {
            return new Source(loader.clone(), table, reloadInterval);
        }

        @Override
        public String asSummaryString() {
            return "LakeLookup(" + table + ", reload every " + reloadInterval + ")";
        }
    }
}
