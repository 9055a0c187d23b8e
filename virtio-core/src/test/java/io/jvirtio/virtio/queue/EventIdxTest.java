package io.jvirtio.virtio.queue;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link EventIdx#needEvent} against the spec's rule, stated independently: notify if and only if one of the entries
 * just written, at indexes {@code old, old + 1, ..., new - 1} (mod 2^16), is the entry at {@code event}
 * (virtio-v1.2 §2.7.7.2, §2.7.10.1).
 */
class EventIdxTest
{
    @Test
    void shouldMatchSpecRuleForEveryEventOverSampledOldAndNewIndices()
    {
        final int[] olds = {0, 1, 2, 255, 256, 0x7FFF, 0x8000, 0xFFF0, 0xFFFE, 0xFFFF};
        final int[] steps = {0, 1, 2, 3, 15, 16, 17, 256, 1000, 32768, 65535};
        for (final int old : olds)
        {
            for (final int step : steps)
            {
                // the rule as an explicit walk over the entries written: slow, and obviously right
                final boolean[] written = new boolean[0x10000];
                int index = old;
                for (int k = 0; k < step; k++)
                {
                    written[index] = true;
                    index = (index + 1) & 0xFFFF;
                }
                final int now = index;
                // exhaustive over every u16 event index, including those on both sides of the 65535 -> 0 wrap
                for (int event = 0; event <= 0xFFFF; event++)
                {
                    if (EventIdx.needEvent(event, now, old) != written[event])
                    {
                        assertEquals(written[event], EventIdx.needEvent(event, now, old),
                            "event=" + event + ", new=" + now + ", old=" + old);
                    }
                }
            }
        }
    }

    @Test
    void shouldMatchSpecRuleExhaustivelyForOneStepAcrossTheWrap()
    {
        for (int old = 0; old <= 0xFFFF; old++)
        {
            final int now = (old + 1) & 0xFFFF;
            for (final int delta : new int[] {-2, -1, 0, 1, 2})
            {
                final int event = (old + delta) & 0xFFFF;
                assertEquals(event == old, EventIdx.needEvent(event, now, old), "old=" + old + ", event=" + event);
            }
        }
    }

    @Test
    void shouldUseOnlyLow16BitsOfEachArgument()
    {
        assertEquals(EventIdx.needEvent(0xFFFF, 0, 0xFFFF), EventIdx.needEvent(-1, 0x10000, 0x1FFFF));
        assertTrue(EventIdx.needEvent(0xFFFF, 0, 0xFFFF), "the entry written at 65535 was the event");
    }

    @Test
    void shouldNotNotifyWhenNothingWasWritten()
    {
        for (int event = 0; event <= 0xFFFF; event++)
        {
            assertFalse(EventIdx.needEvent(event, 1234, 1234));
        }
    }

    /** The spec's example: used_event 0 notifies after the first buffer, and again after the 65536th. */
    @Test
    void shouldNotifyAfterFirstAnd65536thBufferWhenEventIsZero()
    {
        int notifications = 0;
        int old = 0;
        for (int written = 1; written <= 65537; written++)
        {
            final int now = written & 0xFFFF;
            if (EventIdx.needEvent(0, now, old))
            {
                notifications++;
                assertTrue(written == 1 || written == 65537, "written=" + written);
            }
            old = now;
        }
        assertEquals(2, notifications);
    }
}
