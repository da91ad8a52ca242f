import SkeinService
import Testing

/// The gateway's `GET /metrics` joins the texts of several processes.
@Suite struct PrometheusTextTests {
    @Test func familiesOfSeveralProcessesAppearOnceWithAllTheirSamples() {
        let one = "# TYPE skein_replicator_connected gauge\nskein_replicator_connected{peer=\"b\",replicator=\"replicator-eu\"} 1.0\n"
            + "# TYPE skein_store_commits_total counter\nskein_store_commits_total 3\n"
        let two = "# HELP skein_replicator_connected Link up.\n# TYPE skein_replicator_connected gauge\n"
            + "skein_replicator_connected{peer=\"c\",replicator=\"replicator-us\"} 0.0\n"
        let merged = PrometheusText.merge([one, two])
        #expect(merged == """
            # HELP skein_replicator_connected Link up.
            # TYPE skein_replicator_connected gauge
            skein_replicator_connected{peer="b",replicator="replicator-eu"} 1.0
            skein_replicator_connected{peer="c",replicator="replicator-us"} 0.0
            # TYPE skein_store_commits_total counter
            skein_store_commits_total 3

            """)
    }

    @Test func histogramSamplesStayWithTheirFamily() {
        let histogram = "# TYPE skein_request_duration_seconds histogram\n"
            + "skein_request_duration_seconds_bucket{le=\"+Inf\"} 2\nskein_request_duration_seconds_sum 0.5\nskein_request_duration_seconds_count 2\n"
        let merged = PrometheusText.merge([histogram, "# TYPE skein_service_up gauge\nskein_service_up 1.0\n"])
        #expect(merged == histogram + "# TYPE skein_service_up gauge\nskein_service_up 1.0\n")
        #expect(PrometheusText.merge([]) == "")
    }
}
