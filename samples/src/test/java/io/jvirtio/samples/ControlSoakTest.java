package io.jvirtio.samples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CI version of {@code ./jvirtio soak-control}: 200 control rounds (25 resets of each device) under net and blk
 * traffic.
 */
class ControlSoakTest
{
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldKeepEveryKvmGuaranteeWhenIoEventFdsResetsAndLinkChangesRunUnderLoad() throws InterruptedException
    {
        final ControlSoak.Result r = ControlSoak.run(200, 5, new PrintWriter(new StringWriter()));
        assertEquals(200, r.rounds());
        assertTrue(r.kicksRegistered() >= 200, "kicks made while assigned: " + r.kicksRegistered());
        assertEquals(0, r.lostKicks(), "kicks lost while assigned");
        assertEquals(0, r.spuriousKicks(), "signals beyond the stores");
        assertEquals(0, r.lateKicks(), "kicks delivered after deassign returned");
        assertEquals(0, r.unaccounted(), "stores that reached neither or both of eventfd and userspace");
        assertEquals(25 + 1, r.netResets(), "net resets (and the final one)");
        assertEquals(25 + 1, r.blkResets(), "blk resets (and the final one)");
        assertEquals(0, r.wordsTouched(), "guest memory written after a reset returned");
        assertTrue(r.frames() > 0 && r.blkRequests() > 0, "traffic ran: " + r);
        assertEquals(0, r.badFrames(), "bad frames");
        assertEquals(0, r.blkBad(), "bad blocks");
        assertEquals(200, r.linkToggles());
        assertTrue(r.linkChangesSeen() > 0, "the guest saw the link change");
        assertEquals(List.of(), r.threadsLeft(), "threads left behind");
    }
}
