package io.jvirtio.virtio.queue;

import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.memory.GuestRegion;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Queue enable: conformance checklist item 4 (size not 0, at most the maximum, a power of 2; alignment 16/2/4; all
 * three areas inside guest RAM), the frozen configuration, and reset.
 */
class SplitQueueActivationTest
{
    private static final long MIB = 1L << 20;
    private static final int MAX = 256;

    private GuestMemory memory;
    private SplitQueue queue;

    @BeforeEach
    void setUp()
    {
        // RAM at [0, 1 MiB) and [1 MiB, 2 MiB): adjacent, but an area may not span the two
        memory = GuestMemory.of(GuestRegion.anonymous(0, MIB), GuestRegion.anonymous(MIB, MIB));
        queue = new SplitQueue(memory, MAX, QueueBrokenListener.NONE);
    }

    @AfterEach
    void tearDown()
    {
        memory.close();
    }

    private QueueConfigStatus activate(final int size, final long desc, final long avail, final long used)
    {
        return queue.activate(new SplitQueueConfig(size, desc, avail, used, false, false));
    }

    @Test
    void shouldActivateValidConfiguration()
    {
        assertEquals(QueueConfigStatus.VALID, queue.activate(SplitQueueConfig.contiguous(0x1000, MAX, true, true)));
        assertTrue(queue.isActive());
        assertEquals(MAX, queue.size());
        assertEquals(0, queue.counters().get(QueueCounter.CONFIGS_REJECTED));
    }

    @Test
    void shouldRefuseSizeZero()
    {
        assertEquals(QueueConfigStatus.SIZE_ZERO, activate(0, 0x1000, 0x2000, 0x3000));
        assertFalse(queue.isActive());
        assertEquals(1, queue.counters().get(QueueCounter.CONFIGS_REJECTED));
    }

    @Test
    void shouldRefuseSizeThatIsNotAPowerOfTwo()
    {
        assertEquals(QueueConfigStatus.SIZE_NOT_POWER_OF_TWO, activate(12, 0x1000, 0x2000, 0x3000));
        assertEquals(QueueConfigStatus.SIZE_NOT_POWER_OF_TWO, activate(65535, 0x1000, 0x2000, 0x3000));
        assertEquals(QueueConfigStatus.SIZE_NOT_POWER_OF_TWO, activate(-4, 0x1000, 0x2000, 0x3000));
    }

    @Test
    void shouldRefuseSizeAboveTheMaximum()
    {
        assertEquals(QueueConfigStatus.SIZE_ABOVE_MAX, activate(2 * MAX, 0x1000, 0x4000, 0x5000));
        assertEquals(QueueConfigStatus.SIZE_ABOVE_MAX, activate(65536, 0x1000, 0x4000, 0x5000));
    }

    @Test
    void shouldRefuseMisalignedAreas()
    {
        assertEquals(QueueConfigStatus.DESC_TABLE_MISALIGNED, activate(8, 0x1008, 0x2000, 0x3000));
        assertEquals(QueueConfigStatus.AVAIL_RING_MISALIGNED, activate(8, 0x1000, 0x2001, 0x3000));
        assertEquals(QueueConfigStatus.USED_RING_MISALIGNED, activate(8, 0x1000, 0x2000, 0x3002));
        assertEquals(QueueConfigStatus.VALID, activate(8, 0x1010, 0x2002, 0x3004), "the minimum alignments suffice");
    }

    @Test
    void shouldRefuseAreasOutsideRam()
    {
        assertEquals(QueueConfigStatus.DESC_TABLE_NOT_IN_RAM, activate(8, 2 * MIB, 0x2000, 0x3000));
        assertEquals(QueueConfigStatus.AVAIL_RING_NOT_IN_RAM, activate(8, 0x1000, 5 * MIB, 0x3000));
        assertEquals(QueueConfigStatus.USED_RING_NOT_IN_RAM, activate(8, 0x1000, 0x2000, -4L));
    }

    @Test
    void shouldRefuseAreaThatEndsPastItsRegion()
    {
        assertEquals(QueueConfigStatus.DESC_TABLE_NOT_IN_RAM, activate(8, MIB - 64, 0x2000, 0x3000),
            "128-byte table straddles the two regions");
        assertEquals(QueueConfigStatus.USED_RING_NOT_IN_RAM, activate(8, 0x1000, 0x2000, 2 * MIB - 32),
            "70-byte used ring runs past the end of RAM");
    }

    @Test
    void shouldRefuseSecondActivationUntilReset()
    {
        final SplitQueueConfig config = SplitQueueConfig.contiguous(0x1000, 8, false, false);
        assertEquals(QueueConfigStatus.VALID, queue.activate(config));
        assertThrows(IllegalStateException.class, () -> queue.activate(config));
        queue.reset();
        assertFalse(queue.isActive());
        assertEquals(0, queue.size());
        assertThrows(IllegalStateException.class, () -> queue.pop(new DescriptorChain(8)));
        assertEquals(QueueConfigStatus.VALID, queue.activate(config));
    }

    /** CVE-2026-5747: the configuration is copied at enable; later register values never reach the rings. */
    @Test
    void shouldKeepFrozenConfigurationUntilReset()
    {
        final SplitQueueConfig config = SplitQueueConfig.contiguous(0x1000, 8, false, false);
        final SplitQueueDriver driver = new SplitQueueDriver(memory, config);
        assertEquals(QueueConfigStatus.VALID, queue.activate(config));
        final SplitQueueConfig rewritten = new SplitQueueConfig(256, 0x8000, 0x9000, 0xA000, false, false);
        assertThrows(IllegalStateException.class, () -> queue.activate(rewritten));
        driver.post(new long[] {0x10000, 0x11000}, new long[] {16, 16}, 1, 1);
        driver.publish();
        final DescriptorChain chain = new DescriptorChain(8);
        assertEquals(PopStatus.CHAIN, queue.pop(chain));
        assertEquals(8, queue.size());
        queue.complete(chain, 3);
        queue.publish();
        assertEquals(0, driver.reap());
        assertEquals(3, driver.reapedLength());
    }

    @Test
    void shouldClearBrokenStateAndIndicesOnReset()
    {
        final SplitQueueConfig config = SplitQueueConfig.contiguous(0x1000, 8, false, false);
        final RawSplitRing raw = new RawSplitRing(memory, config);
        new SplitQueueDriver(memory, config);
        assertEquals(QueueConfigStatus.VALID, queue.activate(config));
        raw.availIdx(100);
        final DescriptorChain chain = new DescriptorChain(8);
        assertEquals(PopStatus.BROKEN, queue.pop(chain));
        assertTrue(queue.isBroken());

        queue.reset();
        raw.availIdx(0);
        assertEquals(QueueConfigStatus.VALID, queue.activate(config));
        assertFalse(queue.isBroken());
        assertEquals(null, queue.brokenReason());
        assertEquals(PopStatus.EMPTY, queue.pop(chain));
        assertEquals(1, queue.counters().errors(QueueError.AVAIL_INDEX_JUMP), "counters survive reset");
    }

    @Test
    void shouldRefuseCursorSmallerThanQueue()
    {
        assertEquals(QueueConfigStatus.VALID, queue.activate(SplitQueueConfig.contiguous(0x1000, 16, false, false)));
        assertThrows(IllegalArgumentException.class, () -> queue.pop(new DescriptorChain(8)));
    }

    @Test
    void shouldRefuseRestoredIndicesThatAreNotU16()
    {
        final SplitQueueConfig config = SplitQueueConfig.contiguous(0x1000, 8, false, false);
        assertThrows(IllegalArgumentException.class, () -> queue.activate(config, 0x10000, 0));
        assertThrows(IllegalArgumentException.class, () -> queue.activate(config, 0, -1));
    }

    @Test
    void shouldDropCompletionsAndPublishNothingOnceBroken()
    {
        final SplitQueueConfig config = SplitQueueConfig.contiguous(0x1000, 8, false, false);
        final SplitQueueDriver driver = new SplitQueueDriver(memory, config);
        assertEquals(QueueConfigStatus.VALID, queue.activate(config));
        driver.post(new long[] {0x10000, 0x11000}, new long[] {16, 16}, 1, 1);
        driver.publish();
        final DescriptorChain chain = new DescriptorChain(8);
        assertEquals(PopStatus.CHAIN, queue.pop(chain));
        driver.raw().availIdx(50);
        assertEquals(PopStatus.BROKEN, queue.pop(new DescriptorChain(8)));

        queue.complete(chain, 4);
        queue.publish();
        assertEquals(0, driver.raw().usedIdx(), "nothing published after the break");
        assertEquals(0, driver.raw().usedId(0));
        assertEquals(1, queue.counters().get(QueueCounter.COMPLETIONS_DISCARDED));
        assertFalse(queue.needsInterrupt());
        assertFalse(queue.enableNotificationAndRecheck());
        assertEquals(0, queue.inFlight());
    }
}
