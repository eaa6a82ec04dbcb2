// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessRoles} from "AccessRoles.sol";
import {ParticipantRegistry} from "ParticipantRegistry.sol";
import {ReentrancyGuard} from "ReentrancyGuard.sol";

/// @title ICertificateReceiver
/// @notice What a contract must implement to receive green certificates.
interface ICertificateReceiver {
    /// @notice Called after certificates arrive; must return this function's selector.
    /// @param operator Who moved them.
    /// @param from The previous holder (zero when issued).
    /// @param id The certificate id.
    /// @param amount MWh received.
    /// @param data Data passed by the sender.
    /// @return `ICertificateReceiver.onCertificateReceived.selector` to accept.
    function onCertificateReceived(address operator, address from, uint256 id, uint256 amount, bytes calldata data)
        external
        returns (bytes4);
}

/// @title GreenCertificates
/// @notice Renewable-energy certificates, one unit per MWh, each id one issuance with its source,
///         vintage and generator. Energy suppliers registered with a renewable source issue them,
///         holders transfer them, and consumers retire them: retired certificates are burned and
///         recorded against the holder, so no MWh is claimed twice (whitepaper §3.3, §4.3).
/// @dev ERC-1155-style balances per (id, holder); retirement after Energy Web's ERC-1888 registry.
///      Every rule sits in `_update`, the one path issuance, transfer and retirement all pass
///      through. The code is this project's.
contract GreenCertificates is AccessRoles, ReentrancyGuard {
    /// @notice The role that registers generators.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    uint8 private constant ENERGY_SUPPLIER = 8;

    enum Source {
        None,
        Solar,
        Wind,
        Hydro,
        Biomass,
        Geothermal
    }

    /// @notice One issuance.
    struct Certificate {
        address generator;
        Source source;
        uint16 vintage;
        uint64 issuedMwh;
    }

    ParticipantRegistry public immutable registry;

    /// @notice Issuances so far; ids run from 1.
    uint256 public certificateCount;
    /// @notice The renewable source each generator is registered with (`None` if not registered).
    mapping(address generator => Source) public generatorSource;
    /// @notice MWh of certificate `id` held by each account.
    mapping(uint256 id => mapping(address holder => uint256)) public balanceOf;
    /// @notice MWh of certificate `id` each account has retired.
    mapping(uint256 id => mapping(address holder => uint256)) public retiredOf;
    /// @notice MWh of certificate `id` in circulation (issued minus retired).
    mapping(uint256 id => uint256) public totalSupply;
    /// @notice MWh of certificate `id` retired.
    mapping(uint256 id => uint256) public totalRetired;
    /// @notice Whether `operator` may move all of `holder`'s certificates.
    mapping(address holder => mapping(address operator => bool)) public isApprovedForAll;
    mapping(uint256 id => Certificate) private _certificates;

    event GeneratorRegistered(address indexed generator, Source source);
    event GeneratorRevoked(address indexed generator);
    event CertificatesIssued(uint256 indexed id, address indexed generator, Source source, uint16 vintage, uint256 mwh);
    event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 mwh);
    event ApprovalForAll(address indexed holder, address indexed operator, bool approved);
    event Retired(address indexed holder, uint256 indexed id, uint256 mwh);

    error NotEnergySupplier(address account);
    error NotRenewable(Source source);
    error NotGenerator(address account);
    error InvalidVintage(uint16 vintage);
    error ZeroAmount();
    error UnknownCertificate(uint256 id);
    error NotApproved(address operator, address holder);
    error InsufficientCertificates(address holder, uint256 id, uint256 balance, uint256 needed);
    error UnsafeRecipient(address recipient);

    constructor(ParticipantRegistry registry_, address admin) AccessRoles(admin) {
        registry = registry_;
    }

    /// @notice Registers an energy supplier as a generator of renewable `source`.
    /// @param generator A participant registered as energy supplier.
    /// @param source A renewable source (not `None`).
    function registerGenerator(address generator, Source source) external onlyRole(REGISTRAR_ROLE) {
        if (!registry.hasRoles(generator, ENERGY_SUPPLIER)) revert NotEnergySupplier(generator);
        if (source == Source.None) revert NotRenewable(source);
        generatorSource[generator] = source;
        emit GeneratorRegistered(generator, source);
    }

    /// @notice Stops a generator from issuing; certificates already issued stay valid.
    /// @param generator A registered generator.
    function revokeGenerator(address generator) external onlyRole(REGISTRAR_ROLE) {
        if (generatorSource[generator] == Source.None) revert NotGenerator(generator);
        delete generatorSource[generator];
        emit GeneratorRevoked(generator);
    }

    /// @notice The caller, a registered generator, issues `mwh` certificates of `vintage` to itself.
    /// @param mwh MWh generated.
    /// @param vintage Year of generation.
    /// @return id The new certificate id.
    function issue(uint64 mwh, uint16 vintage) external nonReentrant returns (uint256 id) {
        if (vintage == 0) revert InvalidVintage(vintage);
        id = ++certificateCount;
        Source source = generatorSource[msg.sender];
        _certificates[id] = Certificate(msg.sender, source, vintage, mwh);
        emit CertificatesIssued(id, msg.sender, source, vintage, mwh);
        _update(msg.sender, address(0), msg.sender, id, mwh, "");
    }

    /// @notice Moves `mwh` of certificate `id` from `from` to `to`; the caller is `from` or approved.
    /// @param from The holder.
    /// @param to The receiver (a contract must accept via `onCertificateReceived`).
    /// @param id The certificate id.
    /// @param mwh MWh to move.
    /// @param data Passed to a receiving contract.
    function safeTransferFrom(address from, address to, uint256 id, uint256 mwh, bytes calldata data)
        external
        nonReentrant
    {
        if (to == address(0)) revert ZeroAddress();
        _update(msg.sender, from, to, id, mwh, data);
    }

    /// @notice Lets `operator` move all of the caller's certificates (or stops it).
    /// @param operator The operator.
    /// @param approved True to allow.
    function setApprovalForAll(address operator, bool approved) external {
        if (operator == address(0)) revert ZeroAddress();
        isApprovedForAll[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    /// @notice Retires `mwh` of the caller's certificate `id`: burned and recorded as retired by the caller.
    /// @param id The certificate id.
    /// @param mwh MWh to retire.
    function retire(uint256 id, uint256 mwh) external nonReentrant {
        _update(msg.sender, msg.sender, address(0), id, mwh, "");
    }

    /// @notice An issuance's generator, source, vintage and size.
    /// @param id The certificate id.
    /// @return The certificate (all zero if unknown).
    function certificate(uint256 id) external view returns (Certificate memory) {
        return _certificates[id];
    }

    /// @dev The single path: `from == 0` issues, `to == 0` retires, otherwise transfers.
    function _update(address operator, address from, address to, uint256 id, uint256 mwh, bytes memory data) private {
        if (mwh == 0) revert ZeroAmount();
        Certificate storage c = _certificates[id];
        if (c.generator == address(0)) revert UnknownCertificate(id);
        if (from == address(0)) {
            // Issuance: only the certificate's own generator, still registered with its source.
            if (
                c.source == Source.None || operator != c.generator || generatorSource[operator] != c.source
                    || !registry.hasRoles(operator, ENERGY_SUPPLIER)
            ) revert NotGenerator(operator);
            totalSupply[id] += mwh;
        } else {
            if (operator != from && !isApprovedForAll[from][operator]) revert NotApproved(operator, from);
            uint256 balance = balanceOf[id][from];
            if (balance < mwh) revert InsufficientCertificates(from, id, balance, mwh);
            balanceOf[id][from] = balance - mwh;
        }
        if (to == address(0)) {
            totalSupply[id] -= mwh;
            totalRetired[id] += mwh;
            retiredOf[id][from] += mwh;
            emit Retired(from, id, mwh);
        } else {
            balanceOf[id][to] += mwh;
        }
        emit TransferSingle(operator, from, to, id, mwh);
        if (to.code.length > 0) {
            bytes4 answer = ICertificateReceiver(to).onCertificateReceived(operator, from, id, mwh, data);
            if (answer != ICertificateReceiver.onCertificateReceived.selector) revert UnsafeRecipient(to);
        }
    }
}
