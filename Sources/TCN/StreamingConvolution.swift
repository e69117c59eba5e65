extension Conv1d {
    /// The streaming forward pass without a cache: `chunk` `[batch, in, n]` continues `context`
    /// `[batch, in, p]`, the `p` steps before it (`p ≥ (k − 1) · dilation`; `nil` for none, 1×1 filters), and the
    /// output is `[batch, out, n]` (no padding).
    ///
    /// Streams advance a few steps per call, where one GEMM per example would have only a few columns; here all
    /// examples' columns sit side by side (`[in · k, batch · n]`), read straight from context and chunk, for a
    /// single GEMM whose result is then transposed into `[batch, out, n]` with the bias.
    ///
    /// - Throws: `TCNError.shapeMismatch` when `chunk` is not `[batch, in, n]`.
    func streamingForward(_ chunk: Tensor, context: Tensor?) throws -> Tensor {
        let (batch, _, time) = try chunk.batchChannelsTime(name: "conv input", channels: inputChannels)
        let history = context?.shape[2] ?? 0
        let rows = inputChannels * kernelSize
        let width = batch * time
        guard width > 0 else { return Tensor(zeros: [batch, outputChannels, time]) }
        precondition(
            history >= (kernelSize - 1) * dilation
                && (context.map { $0.shape == [batch, inputChannels, history] } ?? true),
            "streaming conv: context \(context?.shape ?? []) for chunk \(chunk.shape)")
        let first = history - (kernelSize - 1) * dilation
        let w = effectiveWeight()
        // Every column entry is written (the context covers every tap), and the GEMM writes every product entry.
        var columns = [Float](unsafeUninitializedCapacity: rows * width) { _, n in n = rows * width }
        var product = [Float](unsafeUninitializedCapacity: outputChannels * width) { _, n in
            n = outputChannels * width
        }
        var y = [Float](unsafeUninitializedCapacity: batch * outputChannels * time) { _, n in
            n = batch * outputChannels * time
        }
        let zeros = [Float](repeating: 0, count: outputChannels)
        let biasData = bias?.data ?? zeros
        let past = context?.data ?? []
        chunk.data.withUnsafeBufferPointer { xp in
            past.withUnsafeBufferPointer { hp in
                columns.withUnsafeMutableBufferPointer { cp in
                    for b in 0..<batch {
                        for i in 0..<inputChannels {
                            let row = b * inputChannels + i
                            for j in 0..<kernelSize {
                                let target = (i * kernelSize + j) * width + b * time
                                for t in 0..<time {
                                    // Position in context ++ chunk.
                                    let s = first + t + j * dilation
                                    cp[target + t] = s < history ? hp[row * history + s] : xp[row * time + s - history]
                                }
                            }
                        }
                    }
                }
            }
        }
        w.data.withUnsafeBufferPointer { wp in
            columns.withUnsafeBufferPointer { cp in
                product.withUnsafeMutableBufferPointer { pp in
                    guard let wBase = wp.baseAddress, let cBase = cp.baseAddress, let pBase = pp.baseAddress else {
                        return
                    }
                    sgemm(
                        transA: false, transB: false, m: outputChannels, n: width, k: rows, wBase, lda: rows, cBase,
                        ldb: width, beta: 0, pBase, ldc: width)
                }
            }
        }
        product.withUnsafeBufferPointer { pp in
            y.withUnsafeMutableBufferPointer { yp in
                for b in 0..<batch {
                    for o in 0..<outputChannels {
                        let bo = biasData[o]
                        let source = o * width + b * time
                        let target = (b * outputChannels + o) * time
                        for t in 0..<time { yp[target + t] = pp[source + t] + bo }
                    }
                }
            }
        }
        return Tensor(uncheckedShape: [batch, outputChannels, time], data: y)
    }
}
