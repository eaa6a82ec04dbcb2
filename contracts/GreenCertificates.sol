// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {AdminRoles} from "AdminRoles.sol";
import {ParticipantRegistry} from "ParticipantRegistry.sol";

/// @title ICertificateReceiver
/// @notice What a contract must implement to receive green certificates.
interface ICertificateReceiver {
    /// @notice Called after certificates arrive; must return this function's selector.
    /// @param operator Who moved them.
    /// @param from The previous holder (zero when issued).
    /// @param id The certificate id.
    /// @param amount Wh received.
    /// @param data Data passed by the sender.
    /// @return `ICertificateReceiver.onCertificateReceived.selector` to accept.
    function onCertificateReceived(address operator, address from, uint256 id, uint256 amount, bytes calldata data)
        external
        returns (bytes4);
}

/// @title GreenCertificates
/// @notice Renewable-energy certificates, one unit per Wh, each id one metered issuance with its
///         source, generation period and generator. Issuance is not self-declared: an account with
///         `METER_ROLE` (the metering oracle) attests what a registered renewable generator fed in
///         during a period, once per generator and period, and the certificates are issued to the
///         generator for exactly that. Any holder transfers them, and consumers retire them:
///         retired certificates are burned and recorded against the holder, final, so no Wh is
///         claimed twice (whitepaper §3.3, §4.3).
/// @dev ERC-1155-style balances per (id, holder); retirement after Energy Web's ERC-1888 registry.
///      Every rule sits in `_update`, the one path issuance, transfer and retirement all pass
///      through. The code is this project's.
contract GreenCertificates is AdminRoles, ReentrancyGuardTransient {
    /// @notice The role that registers generators.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    /// @notice The role that attests metered generation (and so issues).
    bytes32 public constant METER_ROLE = keccak256("METER_ROLE");
    /// @notice The most generators one `attestGenerationMany` call takes.
    uint256 public constant MAX_BATCH = 256;
    uint8 private constant ENERGY_SUPPLIER = 8;

    enum Source {
        None,
        Solar,
        Wind,
        Hydro,
        Biomass,
        Geothermal
    }

    /// @notice One issuance: who generated, from which source, in which period, how many Wh.
    struct Certificate {
        address generator;
        Source source;
        uint64 period;
        uint64 issuedWh;
    }

    /// @notice Who takes part, and in which capacities.
    ParticipantRegistry public immutable registry;

    /// @notice Issuances so far (ids run from 1).
    uint256 public certificateCount;
    /// @notice The renewable source of each registered generator.
    mapping(address generator => Source) public generatorSource;
    /// @notice The certificate id issued for a generator's period (zero: none yet).
    mapping(address generator => mapping(uint64 period => uint256)) public issuedFor;
    /// @notice Wh of certificate `id` each holder holds.
    mapping(uint256 id => mapping(address holder => uint256)) public balanceOf;
    /// @notice Wh of certificate `id` each holder retired.
    mapping(uint256 id => mapping(address holder => uint256)) public retiredOf;
    /// @notice Wh of certificate `id` in circulation.
    mapping(uint256 id => uint256) public totalSupply;
    /// @notice Wh of certificate `id` retired.
    mapping(uint256 id => uint256) public totalRetired;
    /// @notice Operators a holder approved to move all its certificates.
    mapping(address holder => mapping(address operator => bool)) public isApprovedForAll;
    mapping(uint256 id => Certificate) private _certificates;

    event GeneratorRegistered(address indexed generator, Source source);
    event GeneratorRevoked(address indexed generator);
    event GenerationAttested(
        uint256 indexed id, address indexed generator, address indexed meter, Source source, uint64 period, uint256 wh
    );
    event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 wh);
    event ApprovalForAll(address indexed holder, address indexed operator, bool approved);
    event Retired(address indexed holder, uint256 indexed id, uint256 wh);

    error NotEnergySupplier(address account);
    error NotRenewable(Source source);
    error NotGenerator(address account);
    error GenerationAlreadyAttested(address generator, uint64 period, uint256 id);
    error ZeroAmount();
    error UnknownCertificate(uint256 id);
    error NotApproved(address operator, address holder);
    error InsufficientCertificates(address holder, uint256 id, uint256 balance, uint256 needed);
    error UnsafeRecipient(address recipient);
    error BatchTooLarge(uint256 size, uint256 max);
    error LengthMismatch(uint256 generators, uint256 amounts);

    /// @param registry_ The participant registry.
    /// @param admin The first admin.
    constructor(ParticipantRegistry registry_, address admin) AdminRoles(admin) {
        registry = registry_;
    }

    /// @notice Registers an energy supplier as a generator with a renewable `source`.
    ///         Emits `GeneratorRegistered`.
    /// @param generator The generator (an energy supplier in the registry).
    /// @param source Its renewable source.
    function registerGenerator(address generator, Source source) external onlyRole(REGISTRAR_ROLE) {
        if (!registry.hasRoles(generator, ENERGY_SUPPLIER)) revert NotEnergySupplier(generator);
        if (source == Source.None) revert NotRenewable(source);
        generatorSource[generator] = source;
        emit GeneratorRegistered(generator, source);
    }

    /// @notice Removes a generator: it gets no further certificates. Emits `GeneratorRevoked`.
    /// @param generator The generator.
    function revokeGenerator(address generator) external onlyRole(REGISTRAR_ROLE) {
        if (generatorSource[generator] == Source.None) revert NotGenerator(generator);
        delete generatorSource[generator];
        emit GeneratorRevoked(generator);
    }

    /// @notice The meter attests that `generator` fed in `wh` Wh of renewable energy in `period`,
    ///         and `wh` certificates are issued to it. Once per generator and period. Emits
    ///         `GenerationAttested` and `TransferSingle` from the zero address.
    /// @param generator A registered renewable generator, still an energy supplier.
    /// @param period The generation period (the market round).
    /// @param wh Metered generation, Wh.
    /// @return id The new certificate id.
    function attestGeneration(address generator, uint64 period, uint64 wh)
        external
        onlyRole(METER_ROLE)
        nonReentrant
        returns (uint256 id)
    {
        id = _issue(generator, period, wh);
    }

    /// @notice Many generators' attested generation for one period in one call.
    /// @param generators The generators.
    /// @param period The generation period.
    /// @param wh Each generator's metered generation, Wh.
    /// @return first The first new id; the others follow in order.
    function attestGenerationMany(address[] calldata generators, uint64 period, uint64[] calldata wh)
        external
        onlyRole(METER_ROLE)
        nonReentrant
        returns (uint256 first)
    {
        if (generators.length > MAX_BATCH) revert BatchTooLarge(generators.length, MAX_BATCH);
        if (wh.length != generators.length) revert LengthMismatch(generators.length, wh.length);
        first = certificateCount + 1;
        for (uint256 i = 0; i < generators.length; ++i) {
            _issue(generators[i], period, wh[i]);
        }
    }

    /// @notice Moves `wh` of certificate `id` from `from` (the caller or a holder who approved it) to `to`.
    ///         Emits `TransferSingle`.
    /// @param from The holder.
    /// @param to The recipient (a contract must accept through `ICertificateReceiver`).
    /// @param id The certificate.
    /// @param wh Wh moved.
    /// @param data Passed to a receiving contract.
    function safeTransferFrom(address from, address to, uint256 id, uint256 wh, bytes calldata data)
        external
        nonReentrant
    {
        if (to == address(0)) revert ZeroAddress();
        _update(msg.sender, from, to, id, wh, data);
    }

    /// @notice Many transfers in one call (a market round's certificates travelling with its green
    ///         energy trades): each moves `wh[i]` of certificate `ids[i]` from `from[i]` (the caller
    ///         or a holder who approved it) to `to[i]`. All or nothing. Emits `TransferSingle` each.
    /// @param from The holders.
    /// @param to The recipients (a contract must accept through `ICertificateReceiver`).
    /// @param ids The certificates.
    /// @param wh Wh moved, each.
    function safeTransferFromMany(
        address[] calldata from,
        address[] calldata to,
        uint256[] calldata ids,
        uint256[] calldata wh
    ) external nonReentrant {
        if (from.length > MAX_BATCH) revert BatchTooLarge(from.length, MAX_BATCH);
        if (to.length != from.length) revert LengthMismatch(from.length, to.length);
        if (ids.length != from.length) revert LengthMismatch(from.length, ids.length);
        if (wh.length != from.length) revert LengthMismatch(from.length, wh.length);
        for (uint256 i = 0; i < from.length; ++i) {
            if (to[i] == address(0)) revert ZeroAddress();
            _update(msg.sender, from[i], to[i], ids[i], wh[i], "");
        }
    }

    /// @notice Many retirements in one call: each retires `wh[i]` of certificate `ids[i]` held by
    ///         `holders[i]` (the caller or a holder who approved it), burned and recorded against
    ///         that holder, for good. All or nothing. Emits `Retired` and `TransferSingle` each.
    /// @param holders The holders whose certificates are retired.
    /// @param ids The certificates.
    /// @param wh Wh retired, each.
    function retireMany(address[] calldata holders, uint256[] calldata ids, uint256[] calldata wh)
        external
        nonReentrant
    {
        if (holders.length > MAX_BATCH) revert BatchTooLarge(holders.length, MAX_BATCH);
        if (ids.length != holders.length) revert LengthMismatch(holders.length, ids.length);
        if (wh.length != holders.length) revert LengthMismatch(holders.length, wh.length);
        for (uint256 i = 0; i < holders.length; ++i) {
            _update(msg.sender, holders[i], address(0), ids[i], wh[i], "");
        }
    }

    /// @notice Lets `operator` move all the caller's certificates (or stops it). Emits `ApprovalForAll`.
    /// @param operator The operator.
    /// @param approved Whether it may.
    function setApprovalForAll(address operator, bool approved) external {
        if (operator == address(0)) revert ZeroAddress();
        isApprovedForAll[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    /// @notice Retires `wh` of the caller's certificate `id`: burned and recorded, for good.
    ///         Emits `Retired` and `TransferSingle` to the zero address.
    /// @param id The certificate.
    /// @param wh Wh retired.
    function retire(uint256 id, uint256 wh) external nonReentrant {
        _update(msg.sender, msg.sender, address(0), id, wh, "");
    }

    /// @notice One issuance's record.
    /// @param id The certificate.
    /// @return The record (generator zero if unknown).
    function certificate(uint256 id) external view returns (Certificate memory) {
        return _certificates[id];
    }

    function _issue(address generator, uint64 period, uint64 wh) private returns (uint256 id) {
        if (wh == 0) revert ZeroAmount();
        Source source = generatorSource[generator];
        if (source == Source.None || !registry.hasRoles(generator, ENERGY_SUPPLIER)) revert NotGenerator(generator);
        uint256 earlier = issuedFor[generator][period];
        if (earlier != 0) revert GenerationAlreadyAttested(generator, period, earlier);
        id = ++certificateCount;
        issuedFor[generator][period] = id;
        _certificates[id] = Certificate(generator, source, period, wh);
        totalSupply[id] = wh;
        balanceOf[id][generator] = wh;
        emit GenerationAttested(id, generator, msg.sender, source, period, wh);
        emit TransferSingle(msg.sender, address(0), generator, id, wh);
        _checkReceiver(msg.sender, address(0), generator, id, wh, "");
    }

    function _update(address operator, address from, address to, uint256 id, uint256 wh, bytes memory data) private {
        if (wh == 0) revert ZeroAmount();
        if (_certificates[id].generator == address(0)) revert UnknownCertificate(id);
        if (operator != from && !isApprovedForAll[from][operator]) revert NotApproved(operator, from);
        uint256 balance = balanceOf[id][from];
        if (balance < wh) revert InsufficientCertificates(from, id, balance, wh);
        balanceOf[id][from] = balance - wh;
        if (to == address(0)) {
            totalSupply[id] -= wh;
            totalRetired[id] += wh;
            retiredOf[id][from] += wh;
            emit Retired(from, id, wh);
        } else {
            balanceOf[id][to] += wh;
        }
        emit TransferSingle(operator, from, to, id, wh);
        _checkReceiver(operator, from, to, id, wh, data);
    }

    function _checkReceiver(address operator, address from, address to, uint256 id, uint256 wh, bytes memory data)
        private
    {
        if (to.code.length > 0) {
            bytes4 answer = ICertificateReceiver(to).onCertificateReceived(operator, from, id, wh, data);
            if (answer != ICertificateReceiver.onCertificateReceived.selector) revert UnsafeRecipient(to);
        }
    }
}
