package io.jvirtio.bus.kvmhost;

import io.jvirtio.bus.vm.UserspaceDevice;

import java.util.ArrayList;
import java.util.List;

/** A userspace device that records every access and answers loads with a fixed value. */
final class RecordingPortDevice implements UserspaceDevice
{
    /** One access: offset, size, value (for a load, the value answered). */
    record Access(boolean write, long offset, int size, long value)
    {
    }

    private final List<Access> accesses = new ArrayList<>();
    private final long answer;

    RecordingPortDevice(final long answer)
    {
        this.answer = answer;
    }

    @Override
    public long read(final long offset, final int size)
    {
        accesses.add(new Access(false, offset, size, answer));
        return answer;
    }

    @Override
    public void write(final long offset, final int size, final long value)
    {
        accesses.add(new Access(true, offset, size, value));
    }

    List<Access> accesses()
    {
        return accesses;
    }
}
