namespace TLoRA.Engine.Adapters;

/// <summary>Which adapter a job trains.</summary>
public enum AdapterMethod
{
    /// <summary>T-LoRA: orthogonally initialised (SVD) P·diag(λ)·Q with a frozen copy subtracted, plus the rank mask.</summary>
    TLoRA,
    /// <summary>Vanilla T-LoRA: a plain LoRA (up·down) with the timestep rank mask.</summary>
    VanillaTLoRA,
    /// <summary>Plain LoRA, no mask: the baseline.</summary>
    LoRA,
}

/// <summary>Which singular components of the random matrix initialise an orthogonal adapter (the paper uses the last).</summary>
public enum InitComponents { Last, Middle, Principal }

/// <summary>How the usable rank depends on the timestep.</summary>
public enum RankScheduleKind
{
    /// <summary>SD-XL, official code: r = ⌊((T − t)/T)^α · (r − r_min)⌋ + r_min.</summary>
    Power,
    /// <summary>FLUX, official code: r = ⌊(T − t)·(r − r_min)/T⌋ + r_min with t = σ·1000 (no α), in float32.</summary>
    Linear,
}
