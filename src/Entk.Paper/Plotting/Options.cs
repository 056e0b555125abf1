namespace Entk.Plotting
{
    /// <summary>Where a panel draws its legend.</summary>
    public enum LegendLocation
    {
        /// <summary>Inside the data area, upper right corner (default for spectra, which fall to the right).</summary>
        UpperRight,

        /// <summary>Inside the data area, upper left corner.</summary>
        UpperLeft,

        /// <summary>Inside the data area, lower right corner (default for line panels, whose curves usually rise).</summary>
        LowerRight,

        /// <summary>Inside the data area, lower left corner.</summary>
        LowerLeft,

        /// <summary>No legend.</summary>
        None,
    }

    /// <summary>Which matrix row a heatmap draws at the bottom (the meaning of matplotlib's <c>imshow(origin=...)</c>).</summary>
    public enum HeatmapOrigin
    {
        /// <summary>Row 0 at the bottom, row indices increase upwards (matplotlib <c>origin="lower"</c>). Default.</summary>
        Lower,

        /// <summary>Row 0 at the top, as in an image or a printed matrix (matplotlib <c>origin="upper"</c>).</summary>
        Upper,
    }
}
