package io.jvirtio.samples.bench;

import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The chart is well-formed XML whatever its labels hold, bars share a scale per panel, and values are labelled. */
class SvgChartTest
{
    private static Document parse(final String svg) throws Exception
    {
        return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(new InputSource(new StringReader(svg)));
    }

    private static List<String> texts(final Document doc)
    {
        final NodeList nodes = doc.getElementsByTagName("text");
        final List<String> texts = new ArrayList<>();
        for (int i = 0; i < nodes.getLength(); i++)
        {
            texts.add(nodes.item(i).getTextContent());
        }
        return texts;
    }

    @Test
    void shouldStayWellFormedWhenLabelsHoldXmlCharacters() throws Exception
    {
        final Document doc = parse(new SvgChart("a < b & \"c\"")
            .group("x > y", "path 'p'", "ns", new String[]{"<fast>", "a&b"}, new double[]{1, 2})
            .toSvg());
        final List<String> texts = texts(doc);
        assertTrue(texts.contains("a < b & \"c\"") && texts.contains("<fast>") && texts.contains("a&b")
            && texts.contains("path 'p'"), texts.toString());
    }

    @Test
    void shouldDrawBarsOnOneScaleAndLabelTheirValuesWhenGrouped() throws Exception
    {
        final Document doc = parse(new SvgChart("t")
            .group("g", "depth", "IOPS", new String[]{"qd1", "qd32", "none"}, new double[]{250_000, 1_000_000,
                Double.NaN})
            .toSvg());
        final NodeList rects = doc.getElementsByTagName("rect");
        assertEquals(4, rects.getLength(), "a background and one bar per value");
        final double small = Double.parseDouble(((Element)rects.item(1)).getAttribute("height"));
        final double large = Double.parseDouble(((Element)rects.item(2)).getAttribute("height"));
        final double none = Double.parseDouble(((Element)rects.item(3)).getAttribute("height"));
        assertEquals(4.0, large / small, 0.01);
        assertEquals(0.0, none);
        final List<String> texts = texts(doc);
        assertTrue(texts.contains("250k") && texts.contains("1.00M") && texts.contains("n/a")
            && texts.contains("IOPS") && texts.contains("depth"), texts.toString());
    }

    @Test
    void shouldRefuseGroupWhenLabelsAndValuesDiffer()
    {
        assertThrows(IllegalArgumentException.class,
            () -> new SvgChart("t").group("g", "x", "y", new String[]{"a"}, new double[]{1, 2}));
    }
}
