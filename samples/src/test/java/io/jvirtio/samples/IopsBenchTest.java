package io.jvirtio.samples;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The iops program's reading of fio's JSON report. */
class IopsBenchTest
{
    /** The shape of fio 3.x {@code --output-format=json}: jobs[0].read holds iops before its nested objects. */
    private static final String FIO = """
        {
          "fio version" : "fio-3.36",
          "jobs" : [
            {
              "jobname" : "jvirtio-iops",
              "read" : {
                "io_bytes" : 1073741824,
                "bw" : 349525,
                "iops" : 87381.333333,
                "runtime" : 3000,
                "slat_ns" : { "min" : 0, "mean" : 0.0 },
                "clat_ns" : { "min" : 1000, "iops" : 5 }
              },
              "write" : {
                "io_bytes" : 0,
                "iops" : 0.000000
              }
            }
          ]
        }
        """;

    @Test
    void shouldReadTheReadIopsOfTheFirstJob()
    {
        assertEquals(87381.333333, IopsBench.parseFioReadIops(FIO), 1e-6);
    }

    @Test
    void shouldReadIopsInExponentForm()
    {
        assertEquals(1.5e6, IopsBench.parseFioReadIops("{\"read\":{\"bw\":1,\"iops\":1.5e+06}}"), 1e-6);
    }

    @Test
    void shouldReturnMinusOneWhenTheReportHasNoReadIops()
    {
        assertEquals(-1, IopsBench.parseFioReadIops("fio: file not found"));
        assertEquals(-1, IopsBench.parseFioReadIops("{\"write\":{\"iops\":5}}"));
    }
}
