package io.twinserve.api.cli;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** PNG charts of what-if and capacity results, drawn with XChart. */
final class Charts {
    private Charts() {}

    /** A point of a scatter chart. */
    record Point(double x, double y) {}

    /**
     * Cost against sustainable rate: every candidate as a point, the Pareto frontier as a line.
     */
    static void pareto(Path file, String title, List<Point> all, List<Point> frontier, String xTitle, String yTitle)
            throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder()
                .width(900)
                .height(600)
                .title(title)
                .xAxisTitle(xTitle)
                .yAxisTitle(yTitle)
                .build();
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setMarkerSize(7);
        if (!all.isEmpty()) {
            XYSeries points = chart.addSeries(
                    "candidates",
                    all.stream().map(Point::x).toList(),
                    all.stream().map(Point::y).toList());
            points.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
            points.setMarker(SeriesMarkers.CIRCLE);
            points.setMarkerColor(new Color(120, 144, 196));
        }
        if (!frontier.isEmpty()) {
            XYSeries line = chart.addSeries(
                    "Pareto frontier",
                    frontier.stream().map(Point::x).toList(),
                    frontier.stream().map(Point::y).toList());
            line.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            line.setMarker(SeriesMarkers.DIAMOND);
            line.setLineColor(new Color(200, 60, 40));
            line.setMarkerColor(new Color(200, 60, 40));
        }
        write(chart, file);
    }

    /** Grouped bars: one group per category, one bar per series. */
    static void bars(
            Path file,
            String title,
            List<String> categories,
            List<String> series,
            List<List<Double>> values,
            String yTitle)
            throws IOException {
        System.setProperty("java.awt.headless", "true");
        CategoryChart chart = new CategoryChartBuilder()
                .width(1000)
                .height(600)
                .title(title)
                .yAxisTitle(yTitle)
                .build();
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setXAxisLabelRotation(20);
        for (int i = 0; i < series.size(); i++) {
            chart.addSeries(series.get(i), categories, values.get(i));
        }
        write(chart, file);
    }

    /**
     * Refuses a chart path that is a directory, before a long run: the PNG would replace an empty one (a rename over
     * it) or fail at the end.
     */
    static void checkTarget(Path file, String option) {
        if (file != null && Files.isDirectory(file)) {
            throw new IllegalArgumentException(
                    option + ": " + file + " is a directory; expected a file path such as " + file.resolve("plot.png"));
        }
    }

    private static void write(Chart<?, ?> chart, Path file) throws IOException {
        checkTarget(file, "the chart");
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        if (!file.toString().toLowerCase(Locale.ROOT).endsWith(".png")) {
            // XChart appends the extension; keep the name the user asked for
            Files.move(Path.of(file + ".png"), file, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
