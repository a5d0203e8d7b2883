package io.watershed.bench;

import java.time.Instant;
import java.util.SplittableRandom;

/**
 * Nexmark bids and two of its queries, as the Nexmark benchmark for Flink states them (q5 hot items
 * over hopping windows, q7 highest bid per tumbling window), with the bid table's name left open so
 * Watershed ({@code streams.bid}) and the bare peer ({@code bid}) run the same text. {@code dateTime} is
 * quoted: Flink 2's parser reserves DATETIME.
 */
final class Nexmark {
    private Nexmark() {}

    static final String[] CHANNELS = {"Google", "Facebook", "Baidu", "Apple"};

    /** Columns of the bid table; {@code dateTime} is the event time. */
    static final String BID_COLUMNS = "auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, "
            + "`dateTime` TIMESTAMP_LTZ(3), extra STRING";

    static String q5(String bid) {
        return """
                SELECT AuctionBids.auction, AuctionBids.num
                FROM (
                  SELECT auction, count(*) AS num, window_start AS starttime, window_end AS endtime
                  FROM TABLE(HOP(TABLE %1$s, DESCRIPTOR(`dateTime`), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
                  GROUP BY auction, window_start, window_end
                ) AS AuctionBids
                JOIN (
                  SELECT max(CountBids.num) AS maxn, CountBids.starttime, CountBids.endtime
                  FROM (
                    SELECT count(*) AS num, window_start AS starttime, window_end AS endtime
                    FROM TABLE(HOP(TABLE %1$s, DESCRIPTOR(`dateTime`), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
                    GROUP BY auction, window_start, window_end
                  ) AS CountBids
                  GROUP BY CountBids.starttime, CountBids.endtime
                ) AS MaxBids
                ON AuctionBids.starttime = MaxBids.starttime AND AuctionBids.endtime = MaxBids.endtime
                  AND AuctionBids.num >= MaxBids.maxn""".formatted(bid);
    }

    static String q7(String bid) {
        return """
                SELECT B.auction, B.price, B.bidder, B.`dateTime`, B.extra
                FROM %1$s B
                JOIN (
                  SELECT MAX(price) AS maxprice, window_end AS `dateTime`
                  FROM TABLE(TUMBLE(TABLE %1$s, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
                  GROUP BY window_start, window_end
                ) B1
                ON B.price = B1.maxprice
                WHERE B.`dateTime` BETWEEN B1.`dateTime` - INTERVAL '10' SECOND AND B1.`dateTime`""".formatted(bid);
    }

    static String query(String name, String bid) {
        return switch (name) {
            case "q5" -> q5(bid);
            case "q7" -> q7(bid);
            default -> throw new IllegalArgumentException("unknown query " + name);
        };
    }

    /**
     * The i-th bid as JSON, 10,000 bids per second of event time. Half the bids go to a few hot auctions
     * (as Nexmark's generator does), prices follow its log-uniform spread.
     */
    static String bid(long i, long startMillis, SplittableRandom random) {
        long auctions = 1000 + i / 50;
        long auction = random.nextInt(2) == 0 ? (auctions / 100) * 100 - random.nextInt(3) * 100 : random.nextLong(1000, auctions + 1);
        long bidder = random.nextLong(1000, 1000 + 1 + i / 20);
        long price = Math.round(Math.pow(10.0, random.nextDouble() * 6.0) * 100.0);
        String channel = CHANNELS[random.nextInt(CHANNELS.length)];
        String time = Instant.ofEpochMilli(startMillis + i / 10).toString();
        return "{\"auction\":" + auction + ",\"bidder\":" + bidder + ",\"price\":" + price + ",\"channel\":\"" + channel
                + "\",\"url\":\"https://www.nexmark.com/" + channel.toLowerCase() + "/item.htm?query=1&channel_id=" + (i % 997)
                + "\",\"dateTime\":\"" + time + "\",\"extra\":\"\"}";
    }
}
